"""params.yaml is generated from the schema's descriptions: the committed file is its own rendering."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
import yaml

from avsep.cli import main
from avsep.config import Params, load_params, load_tree
from avsep.config.document import REGENERATE, describe, render_params_yaml, sections_of

REPO = Path(__file__).resolve().parents[1]
PARAMS = REPO / "params.yaml"


def test_params_yaml_is_the_rendering_of_its_values():
    committed = PARAMS.read_text(encoding="utf-8")
    rendered = render_params_yaml(yaml.safe_load(committed))
    if committed != rendered:
        diff = "\n".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(),
                    rendered.splitlines(),
                    "params.yaml",
                    "rendered from the schema",
                    lineterm="",
                )
            )[:40]
        )
        pytest.fail(
            f"params.yaml differs from the schema's rendering of its values (comments come from the "
            f"descriptions in avsep/config/; edit them there, then run `{REGENERATE}`):\n{diff}"
        )


def test_every_field_has_a_description():
    missing = [
        f"{section.__module__}.{section.__name__}.{name}"
        for section in sections_of()
        for name, field in section.model_fields.items()
        if not describe(field)
    ]
    assert not missing, f"fields without a description (Field(description=...) in avsep/config/): {missing}"


def test_rendering_gives_the_values_back():
    """Every value of the resolved parameters (defaults included) survives the rendering, and validates."""
    full = load_params(PARAMS).model_dump(mode="json", by_alias=True)
    assert yaml.safe_load(render_params_yaml(full)) == full
    defaults = Params().model_dump(mode="json", by_alias=True)
    assert Params.model_validate(yaml.safe_load(render_params_yaml(defaults))) == Params()


def test_unknown_key_is_named():
    with pytest.raises(KeyError, match=re.escape("world.no_such_key")):
        render_params_yaml({"world": {"no_such_key": 1}})


def test_cli_prints_resolved_params_and_writes_a_file(tmp_path, capsys):
    assert main(["params", "--params", str(PARAMS), "--set", "world.seed=7", "--set", "dsol.lambda=0.8"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["world"]["seed"] == 7 and printed["dsol"]["lambda"] == 0.8

    out = tmp_path / "params.yaml"
    assert main(["params", "--params", str(PARAMS), "--set", "world.seed=7", "--write", str(out)]) == 0
    assert load_params(out).world.seed == 7
    assert load_tree(out).keys() == load_tree(PARAMS).keys()
    assert main(["params", "--check", str(out)]) == 0

    out.write_text(out.read_text(encoding="utf-8").replace("# world seed;", "# the world's seed;"), encoding="utf-8")
    assert main(["params", "--check", str(out)]) == 1
    assert REGENERATE in capsys.readouterr().err
