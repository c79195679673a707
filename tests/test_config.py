import pytest

from avsep.config import ParamsError, load_params, params_hash, parse_override


def test_defaults_validate():
    params = load_params(None)
    assert params.features.preset == "dsol"


def test_repository_params_file_validates():
    params = load_params("params.yaml")
    assert params.media.short_clip in ("pad", "refuse")


def test_override_parses_yaml_values(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("seed: 1\n")
    params = load_params(path, ["seed=5", "features.n_mels=40", "features.fmax=null"])
    assert (params.seed, params.features.n_mels, params.features.fmax) == (5, 40, None)


def test_error_names_key_and_value(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("features:\n  n_mels: -3\n")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    message = str(info.value)
    assert "features.n_mels" in message and "-3" in message and str(path) in message


def test_unknown_key_is_named(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("features:\n  n_mel: 64\n")
    with pytest.raises(ParamsError, match=r"features\.n_mel: unknown key"):
        load_params(path)


def test_bad_override_value_is_named():
    with pytest.raises(ParamsError, match=r"media\.short_clip = 'maybe'"):
        load_params(None, ["media.short_clip=maybe"])


@pytest.mark.parametrize("text", ["novalue", "=3", "a..b=1"])
def test_malformed_override(text):
    with pytest.raises(ParamsError):
        parse_override(text)


def test_override_cannot_descend_into_a_value(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("seed: 1\n")
    with pytest.raises(ParamsError, match="seed is a value, not a section"):
        load_params(path, ["seed.x=1"])


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        load_params(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ParamsError, match="top level must be a mapping"):
        load_params(bad)


def test_params_hash_changes_with_values():
    a, b = load_params(None), load_params(None, ["seed=1"])
    assert params_hash(a) != params_hash(b)
    assert params_hash(a, "features") == params_hash(b, "features")


def test_params_file_names_every_key():
    """DVC tracks the values in params.yaml, key by key: a key left to its default in the schema would change
    with the code while `dvc repro` saw nothing, so the repository's file names every key (aliases as spelt)."""
    import yaml

    with open("params.yaml", encoding="utf-8") as handle:
        written = yaml.safe_load(handle)
    schema = load_params("params.yaml").model_dump(by_alias=True)
    missing: list[str] = []

    def walk(values: dict, tree: dict, path: str) -> None:
        for key, value in values.items():
            if key not in tree:
                missing.append(path + key)
            elif isinstance(value, dict) and isinstance(tree[key], dict):
                walk(value, tree[key], f"{path}{key}.")

    walk(schema, written, "")
    assert not missing, f"params.yaml leaves these keys to the schema's defaults: {missing}"


def test_a_partial_demo_override_keeps_the_demos_other_values():
    # The demo's defaults are not the schema's (those are the paper's): setting one demo key must not reset the rest.
    base = load_params(None)
    one = load_params(None, ["separation.demo.epochs=2", "profiles.demo.batch_size=4"])
    assert one.separation.demo.epochs == 2 and one.profiles.demo.batch_size == 4
    assert one.separation.demo.unet_filters == base.separation.demo.unet_filters != base.separation.paper.unet_filters
    assert one.separation.demo.optimizer == base.separation.demo.optimizer == "adam"
    assert one.profiles.demo.backbone_width == base.profiles.demo.backbone_width != base.profiles.paper.backbone_width


def test_one_profile_of_a_per_profile_value_can_be_set_alone():
    defaults = load_params(None)
    one = load_params(None, ["mssl.localization.paper=coarse_to_fine", "dsol.lambda=0.8"])
    assert one.mssl.localization.paper == "coarse_to_fine"
    assert one.mssl.localization.demo == defaults.mssl.localization.demo
    assert one.dsol.lambda_ == 0.8 and one.dsol.epochs_one == defaults.dsol.epochs_one
