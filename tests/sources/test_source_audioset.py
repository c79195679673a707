"""AudioSet segment CSVs + ontology.json, restricted to a vocabulary."""

import json

import pytest

from avsep.config.dataset import DatasetParams
from avsep.sources import IndexFormatError, load_source
from avsep.sources.ontology import Ontology


def node(mid, name, children=(), restrictions=()):
    return {
        "id": mid,
        "name": name,
        "description": "",
        "citation_uri": "",
        "positive_examples": [],
        "child_ids": list(children),
        "restrictions": list(restrictions),
    }


NODES = [
    node("/m/04rlf", "Music", ["/m/04szw"]),
    node("/m/04szw", "Musical instrument", ["/m/0fx80y", "/m/0l14j_"]),
    node("/m/0fx80y", "Plucked string instrument", ["/m/0342h"]),
    node("/m/0342h", "Guitar", ["/m/042v_gx"]),
    node("/m/042v_gx", "Acoustic guitar"),
    node("/m/0l14j_", "Flute"),
    node("/m/09l8g", "Human voice", ["/m/09x0r"]),
    node("/m/09x0r", "Speech"),
    node("/t/dd00001", "Abstract thing", restrictions=["abstract"]),
]
CSV = """# Segments csv created Sun Mar  5 10:54:31 2017
# num_ytids=4, num_segs=4, num_unique_labels=5, num_positive_labels=7
# YTID, start_seconds, end_seconds, positive_labels
--PJHxphWEs, 30.000, 40.000, "/m/04szw,/m/042v_gx"
-0DdlOuIFUI, 50.000, 60.000, "/m/09x0r"
-0DLPzsiXXE, 30.000, 40.000, "/m/0l14j_,/m/09x0r,/m/0342h"
"""


@pytest.fixture
def files(tmp_path):
    ontology = tmp_path / "ontology.json"
    ontology.write_text(json.dumps(NODES))
    index = tmp_path / "balanced_train_segments.csv"
    index.write_text(CSV)
    return index, ontology


def test_instrument_vocabulary_keeps_instrument_clips(files):
    index, ontology = files
    params = DatasetParams(ontology=str(ontology), vocabulary=["Musical instrument"], vocabulary_descendants=True)
    first, third = load_source("audioset", index, params)  # the speech-only clip has no instrument
    assert first.clip_id == "audioset---PJHxphWEs-30000"
    assert (first.uri, first.start_s, first.end_s) == ("youtube:--PJHxphWEs", 30.0, 40.0)
    assert first.labels == ["Musical instrument", "Acoustic guitar"]
    assert third.labels == ["Flute", "Guitar"] and third.meta["mids"] == ["/m/0l14j_", "/m/09x0r", "/m/0342h"]


def test_vocabulary_without_descendants_is_exact(files):
    index, ontology = files
    records = load_source("audioset", index, DatasetParams(ontology=str(ontology), vocabulary=["/m/0l14j_"]))
    assert [r.labels for r in records] == [["Flute"]]


def test_empty_vocabulary_keeps_everything(files):
    index, ontology = files
    assert len(load_source("audioset", index, DatasetParams(ontology=str(ontology)))) == 3


def test_unknown_mid_is_an_error_or_dropped(files):
    index, ontology = files
    index.write_text(CSV + 'aaaaaaaaaaa, 0.000, 10.000, "/m/0l14j_,/m/nope"\n')
    with pytest.raises(IndexFormatError, match=r"line 7: unknown label '/m/nope'"):
        load_source("audioset", index, DatasetParams(ontology=str(ontology)))
    records = load_source("audioset", index, DatasetParams(ontology=str(ontology), unknown_label="drop"))
    assert records[-1].meta["mids"] == ["/m/0l14j_"]


def test_unknown_vocabulary_entry_names_the_key(files):
    index, ontology = files
    with pytest.raises(ValueError, match=r"dataset.vocabulary.*'Kazoo'"):
        load_source("audioset", index, DatasetParams(ontology=str(ontology), vocabulary=["Kazoo"]))


def test_missing_ontology_parameter(files):
    with pytest.raises(ValueError, match=r"dataset.ontology"):
        load_source("audioset", files[0], DatasetParams())


@pytest.mark.parametrize(
    "row, reason",
    [
        ('../../etc/x, 0, 10, "/m/0l14j_"', "not a YouTube video ID"),
        ("aaaaaaaaaaa, 0, 10", "3 fields"),
        ('aaaaaaaaaaa, 10, 5, "/m/0l14j_"', "end_seconds 5.0 <= start_seconds"),
        ('aaaaaaaaaaa, -1, 5, "/m/0l14j_"', "must be a finite number >= 0"),
        ('aaaaaaaaaaa, 0, 10, ""', "empty label"),
    ],
)
def test_bad_rows_become_invalid_rows_and_the_others_stay(files, row, reason):
    index, ontology = files
    params = DatasetParams(ontology=str(ontology))
    good = load_source("audioset", index, params)  # the fixture's valid rows
    assert good
    index.write_text(CSV + row + "\n")
    records = load_source("audioset", index, params)
    invalid = [r for r in records if r.status == "invalid"]
    assert len(invalid) == 1 and f"{index}: line 7: " in invalid[0].error and reason in invalid[0].error
    assert [r.clip_id for r in records if r.status != "invalid"] == [r.clip_id for r in good]


def test_malformed_ontology(tmp_path):
    bad = tmp_path / "ontology.json"
    bad.write_text(json.dumps([node("/m/a", "A", ["/m/missing"])]))
    with pytest.raises(IndexFormatError, match="child id '/m/missing' is not a node"):
        Ontology.load(bad)
    bad.write_text(json.dumps({"id": "/m/a"}))
    with pytest.raises(IndexFormatError, match="JSON list of nodes"):
        Ontology.load(bad)
