from pathlib import Path

import pytest
import yaml

from avsep.config import load_params
from avsep.config.features import FeatureParams
from avsep.features import DSOL, MSSL, PRESETS, SOP, VGGISH, FrontEnd, frontend_from_params, preset


def test_documented_shapes_of_the_presets():
    assert DSOL.logmel_shape() == (201, 64)  # 1 s at 16 kHz
    assert PRESETS["dmc"].logmel_shape() == (201, 64)
    assert MSSL.logmel_shape() == (251, 64)  # 5 s at 22.05 kHz
    assert MSSL.clip_samples == 5 * 22050
    assert SOP.stft_shape() == (512, 256)  # 65535 samples at 11.025 kHz
    assert SOP.logfreq_bins == 256
    assert VGGISH.logmel_shape() == (496, 64)  # DMC §3.1: 496 frames of 10 ms, 64 bands
    assert (VGGISH.window_length, VGGISH.n_fft, DSOL.window_length) == (400, 512, 160)


def test_every_preset_documents_its_origin():
    for name, frontend in PRESETS.items():
        assert frontend.name == name
        assert len(frontend.origin) > 80, name


def test_sop_has_no_mel_filterbank():
    with pytest.raises(ValueError, match="'sop' has no mel filterbank"):
        SOP.logmel_shape()


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"n_fft": 1}, "n_fft must be >= 2"),
        ({"hop_length": 0}, "hop_length must be >= 1"),
        ({"fmax": 9000.0}, "above Nyquist"),
        ({"fmin": 8000.0}, "fmin < fmax"),
        ({"pad_mode": "wrap"}, "pad_mode must be one of"),
        ({"log": "log10"}, "log must be one of"),
        ({"n_mels": 0}, "n_mels must be >= 1"),
        ({"top_db": -1.0}, "top_db must be >= 0"),
        ({"win_length": 161}, "win_length must be in"),
        ({"win_length": 0}, "win_length must be in"),
    ],
)
def test_bad_front_end_is_refused_naming_field(changes, reason):
    with pytest.raises(ValueError, match=reason) as info:
        FrontEnd(**{**DSOL.__dict__, "name": "broken", **changes})
    assert "'broken'" in str(info.value)


def test_frame_count_without_centering():
    frontend = FrontEnd(**{**DSOL.__dict__, "center": False})
    assert frontend.n_frames(16000) == 1 + (16000 - 160) // 80
    with pytest.raises(ValueError, match="shorter than n_fft"):
        frontend.n_frames(100)


def test_unknown_preset_lists_names():
    with pytest.raises(ValueError, match=r"unknown; choose one of \['dmc', 'dsol', 'mssl', 'sop', 'vggish'\]"):
        preset("openl3")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_params_pick_the_preset(name):
    params = load_params(None, [f"features.preset={name}", "features.n_fft=999"])
    assert frontend_from_params(params.features) is PRESETS[name]  # custom keys ignored for presets


def test_custom_front_end_from_params():
    params = load_params(
        None,
        [
            "features.preset=custom",
            "features.sample_rate=8000",
            "features.n_fft=256",
            "features.hop_length=128",
            "features.clip_s=2",
            "features.fmax=null",
            "features.log=log",
            "features.pad_mode=reflect",
        ],
    )
    frontend = frontend_from_params(params.features)
    assert (frontend.name, frontend.sample_rate, frontend.n_fft, frontend.hop_length) == ("custom", 8000, 256, 128)
    assert frontend.clip_samples == 16000 and frontend.mel_fmax == 4000.0
    assert frontend.logmel_shape() == (126, 64)
    assert (frontend.log, frontend.pad_mode) == ("log", "reflect")


def test_custom_front_end_with_bad_values_raises():
    params = load_params(None, ["features.preset=custom", "features.fmax=12000"])
    with pytest.raises(ValueError, match="above Nyquist"):
        frontend_from_params(params.features)


def test_params_yaml_features_section_matches_the_schema_defaults():
    with open(Path(__file__).parents[2] / "params.yaml", encoding="utf-8") as fh:
        section = yaml.safe_load(fh)["features"]
    assert section == FeatureParams().model_dump()
