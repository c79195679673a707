"""Bad world parameters are refused with a message naming the key, before anything is written."""

from __future__ import annotations

import pytest

from avsep.cli import main
from avsep.config import ParamsError, load_params


@pytest.mark.parametrize(
    "override, words",
    [
        ("world.counts.demo.train.solo=-3", ["world.counts.demo.train.solo", "-3", "greater than or equal to 0"]),
        ("world.classes=[banjo,cello,tuba,violin]", ["world.classes", "unknown class 'banjo'"]),
        ("world.width=30", ["world.width", "too small for 4 objects"]),
        ("world.height=255", ["world.height", "even"]),
        ("world.object_scale=[0.5,1.5]", ["object_scale", "<= 1"]),
    ],
)
def test_bad_parameter_is_named(override, words):
    with pytest.raises(ParamsError) as caught:
        load_params(None, [override])
    for word in words:
        assert word in str(caught.value)


def test_cli_refuses_bad_parameters_before_writing(tmp_path, capsys):
    out = tmp_path / "world"
    code = main(["world", "--params", str(tmp_path / "none.yaml"), "--out", str(out)])
    assert code == 2 and "parameter file not found" in capsys.readouterr().err
    (tmp_path / "p.yaml").write_text("world:\n  width: 20\n")
    code = main(
        ["world", "--params", str(tmp_path / "p.yaml"), "--out", str(out), "--set", "world.counts.demo.train.duet=-1"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "world.width" in err and "world.counts.demo.train.duet" in err
    assert not out.exists()


def test_defaults_match_params_yaml():
    from pathlib import Path

    from avsep.config.world import WorldParams

    path = Path(__file__).parents[2] / "params.yaml"
    assert load_params(path).world == WorldParams()
