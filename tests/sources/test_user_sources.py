"""A researcher's own source, registered without editing avsep: a dotted path ``module:function`` or an entry point
of the group ``avsep.sources`` of an installed distribution (here a dist-info folder the test writes)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from avsep.config import ParamsError, load_params
from avsep.config.dataset import BUILTIN_SOURCES
from avsep.sources import SOURCES, SourceError, UnknownSourceError, load_source, resolve_source

REPO = Path(__file__).resolve().parents[2]

# The worked example of docs/sources.md: an index of lines `relative/path.mp4;label;split`, read lazily.
LAB_SOURCE = textwrap.dedent(
    '''
    """A lab's own index: one line per video, `relative/path.mp4;label;split`."""
    from pathlib import Path

    from avsep.sources import ClipRecord, IndexFormatError, safe_clip_id


    def load(index, params):
        index = Path(index)
        for number, line in enumerate(index.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split(";")
            if len(parts) != 3:
                raise IndexFormatError(index, number, f"expected path;label;split, got {line!r}")
            name, label, split = parts
            path = (index.parent / name).resolve()
            yield ClipRecord(
                clip_id=safe_clip_id(f"lab-{Path(name).stem}", params.clip_id_max_len),
                source="lab",
                uri=path.as_uri(),
                labels=[label],
                split=split,
            )
    '''
)


@pytest.fixture(autouse=True)
def forget_test_modules():
    """Each test imports its own module files: none stays in sys.modules for the next test to find."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("lab_", "wrong_source")):
            del sys.modules[name]


def write_lab(tmp_path: Path, module: str = "lab_source") -> Path:
    """``tmp_path/module.py`` and an index of three entries; returns the index."""
    (tmp_path / f"{module}.py").write_text(LAB_SOURCE, encoding="utf-8")
    index = tmp_path / "lab.txt"
    index.write_text("videos/cello 1.mp4;cello;train\nvideos/flute.mp4;flute;train\nvideos/erhu.mp4;erhu;test\n")
    return index


def test_builtin_names_agree_between_schema_and_registry():
    assert tuple(SOURCES) == BUILTIN_SOURCES


def test_a_dotted_path_is_a_source(tmp_path, monkeypatch):
    index = write_lab(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    params = load_params(REPO / "params.yaml", ["dataset.source=lab_source:load", f"dataset.index={index}"])
    records = load_source(params.dataset.source, params.dataset.index, params.dataset)
    assert [r.clip_id for r in records[1:]] == ["lab-flute", "lab-erhu"]
    assert records[0].clip_id.startswith("lab-cello_1-")  # the space made safe, with a hash of the raw name
    assert [r.split for r in records] == ["train", "train", "test"]
    assert records[2].uri == (tmp_path / "videos" / "erhu.mp4").resolve().as_uri()


def test_an_entry_point_of_an_installed_distribution_is_a_source(tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    index = write_lab(site, module="lab_plugin")
    dist = site / "lab_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[avsep.sources]\nlab = lab_plugin:load\n")
    with pytest.raises(ParamsError, match="unknown source 'lab'"):  # not installed yet
        load_params(REPO / "params.yaml", ["dataset.source=lab"])
    monkeypatch.syspath_prepend(str(site))
    params = load_params(REPO / "params.yaml", ["dataset.source=lab", f"dataset.index={index}"])
    records = load_source("lab", index, params.dataset)
    assert [r.labels for r in records] == [["cello"], ["flute"], ["erhu"]]
    with pytest.raises(ParamsError, match=r"installed \(avsep.sources entry points\): lab"):
        load_params(REPO / "params.yaml", ["dataset.source=lbs"])  # a typo lists what is installed


def test_an_unknown_name_lists_the_builtins():
    with pytest.raises(ParamsError, match="unknown source 'nosuch': built-in sources are world, music, audioset"):
        load_params(REPO / "params.yaml", ["dataset.source=nosuch"])
    with pytest.raises(ParamsError, match=r"dataset\.source = 'lab source:load'"):
        load_params(REPO / "params.yaml", ["dataset.source=lab source:load"])  # not a dotted path either


@pytest.mark.parametrize(
    "name, reason",
    [
        ("no_such_lab_module:load", "cannot import it: No module named 'no_such_lab_module'"),
        ("lab_source:missing", "has no attribute 'missing'"),
        ("lab_source:CONSTANT", "int is not a function"),
    ],
)
def test_a_dotted_path_that_does_not_resolve_is_named(tmp_path, monkeypatch, name, reason):
    write_lab(tmp_path)
    with open(tmp_path / "lab_source.py", "a", encoding="utf-8") as module:
        module.write("\nCONSTANT = 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UnknownSourceError, match=f"source '{name}'.*{reason}"):
        resolve_source(name)


def test_a_loader_must_return_clip_records(tmp_path, monkeypatch):
    (tmp_path / "wrong_source.py").write_text(
        "def rows(index, params):\n    return [{'clip_id': 'a'}]\n\ndef text(index, params):\n    return 'a,b'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(SourceError, match="source 'wrong_source:rows': item 0 is a dict, not a ClipRecord"):
        load_source("wrong_source:rows", tmp_path)
    with pytest.raises(SourceError, match="returned str, not an iterable of ClipRecord"):
        load_source("wrong_source:text", tmp_path)
