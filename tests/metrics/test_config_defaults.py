"""params.yaml's evaluate section repeats the metric functions' defaults (the papers' values) and is checked."""

import inspect

import pytest

from avsep.config import ParamsError, load_params
from avsep.config.evaluate import EvaluateParams
from avsep.metrics import clustering, counting, localization, separation


def _default(function, name):
    return inspect.signature(function).parameters[name].default


def test_section_defaults_equal_the_functions_defaults():
    params = EvaluateParams()
    assert params.localization.map_size == _default(localization.gt_map, "size") == localization.MAP_SIZE
    assert params.localization.nsa_tau == _default(localization.nsa, "tau")
    assert tuple(params.localization.thresholds) == _default(localization.evaluate_class_aware, "thresholds")
    assert tuple(params.localization.thresholds) == _default(localization.evaluate_single_source, "thresholds")
    assert params.separation.silence_threshold == _default(separation.SeparationMeter, "silence_threshold")
    assert params.separation.backend == _default(separation.evaluate_separation, "backend")
    assert _default(clustering.linear_probe, "C") == params.probe.C
    assert params.probe.max_iter == _default(clustering.linear_probe, "max_iter")
    assert params.probe.standardize == _default(clustering.linear_probe, "standardize")
    assert params.counting.cap == _default(counting.evaluate_counting, "cap")


def test_repository_params_file_matches_the_defaults():
    assert load_params("params.yaml").evaluate == EvaluateParams()


def test_every_configured_protocol_is_known_to_the_metrics():
    params = EvaluateParams()
    for name in params.localization.single_source + params.localization.class_aware:
        if name != "consensus":
            assert localization.relative_threshold(name) > 0
    # Every single-source rule is reported by default, so each metrics file shows the maps under all of them.
    assert tuple(params.localization.single_source) == localization.SINGLE_SOURCE_PROTOCOLS
    with pytest.raises(ParamsError, match=r"class_aware: unknown protocol 'mssl-flickr'"):
        load_params(None, ["evaluate.localization.class_aware=[mssl-flickr]"])


def test_bad_protocol_name_is_refused_naming_the_key():
    with pytest.raises(ParamsError, match=r"evaluate\.localization\.class_aware.*unknown protocol 'median'"):
        load_params(None, ["evaluate.localization.class_aware=[median]"])
    custom = load_params(None, ["evaluate.localization.class_aware=[relative:0.3]"])
    assert localization.relative_threshold(custom.evaluate.localization.class_aware[0]) == 0.3
    with pytest.raises(ParamsError, match=r"evaluate\.separation\.backend"):
        load_params(None, ["evaluate.separation.backend=museval"])
