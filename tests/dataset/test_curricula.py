"""Counting sound sources from labels (AudioSet ontology rule on a hand-made ontology) and curricula."""

import json
import re

import pytest

from avsep.config.dataset import DatasetParams
from avsep.dataset.curricula import (
    assign_curricula,
    count_from_ontology,
    count_sources,
    curriculum_of,
    read_predictions,
)
from avsep.sources import IndexFormatError
from avsep.sources.ontology import Ontology
from avsep.sources.records import N_SOURCES_UNKNOWN, ClipRecord


def node(mid, children=(), restrictions=()):
    return {"id": mid, "name": mid.upper(), "child_ids": list(children), "restrictions": list(restrictions)}


#   music ─ instrument ─┬─ plucked ─┬─ guitar ─┬─ acoustic
#     │   (abstract)    │           │          └─ electric
#     │                 │           └─ harp ◄──────────────┐ (two parents)
#     │                 ├─ bowed ─┬─ violin               │
#     │                 │         └─ cello                │
#     │                 └─ drum          orchestra ───────┘
#     └─ genre (abstract) ─ rock         noise (blacklist)   speech
NODES = [
    node("music", ["instrument", "genre"]),
    node("instrument", ["plucked", "bowed", "drum"], ["abstract"]),
    node("plucked", ["guitar", "harp"]),
    node("guitar", ["acoustic", "electric"]),
    node("acoustic"),
    node("electric"),
    node("harp"),
    node("bowed", ["violin", "cello"]),
    node("violin"),
    node("cello"),
    node("drum"),
    node("orchestra", ["harp"]),
    node("genre", ["rock"], ["abstract"]),
    node("rock"),
    node("noise", restrictions=["blacklist"]),
    node("speech"),
]


@pytest.fixture(scope="module")
def ontology():
    return Ontology(NODES, origin="tiny-ontology")


@pytest.mark.parametrize(
    "labels, expected",
    [
        (["acoustic"], 1),
        (["guitar", "acoustic"], 1),  # guitar is acoustic's parent: the same sound
        (["plucked", "guitar", "acoustic"], 1),  # transitively
        (["acoustic", "electric"], 2),  # siblings: two sources
        (["violin", "cello", "drum", "acoustic"], 4),
        (["music", "violin"], 1),  # music is an ancestor of violin
        (["instrument"], 0),  # abstract
        (["noise", "violin"], 1),  # blacklisted
        (["harp", "orchestra"], 1),  # orchestra is one of harp's two parents
        (["harp", "plucked"], 1),  # and so is plucked
        (["rock", "violin"], 2),
        (["music"], 1),  # alone, a non-abstract ancestor still names a source
        ([], 0),
    ],
)
def test_ontology_rule(ontology, labels, expected):
    assert count_from_ontology(labels, ontology) == expected


def test_vocabulary_restricts_before_the_ancestor_rule(ontology):
    instruments = ontology.vocabulary_mids(["instrument"], descendants=True)
    assert count_from_ontology(["violin", "speech", "rock"], ontology, instruments) == 1
    # guitar would be dropped as acoustic's ancestor, but acoustic is outside this vocabulary
    assert count_from_ontology(["guitar", "acoustic"], ontology, frozenset({"guitar"})) == 1


def test_names_resolve_like_mids(ontology):
    assert count_from_ontology(["VIOLIN", "cello"], ontology) == 2
    with pytest.raises(KeyError, match="'kazoo' is not a node"):
        count_from_ontology(["kazoo"], ontology)


def test_ambiguous_name_is_refused():
    ontology = Ontology([{"id": "a", "name": "Bell"}, {"id": "b", "name": "Bell"}])
    with pytest.raises(KeyError, match="names 2 nodes"):
        ontology.resolve("Bell")


def test_a_cycle_in_a_malformed_ontology_still_terminates():
    ontology = Ontology([node("a", ["b"]), node("b", ["a"])])
    assert ontology.ancestors("a") == {"b"}
    assert count_from_ontology(["a", "b"], ontology) == 0  # each is the other's ancestor


@pytest.mark.parametrize("n, curriculum", [(1, "C1"), (2, "C2"), (3, "C3"), (4, "C4"), (9, "C4")])
def test_curriculum_of(n, curriculum):
    assert curriculum_of(n) == curriculum


@pytest.mark.parametrize("n", [0, -1])
def test_no_source_has_no_curriculum(n):
    with pytest.raises(ValueError, match="at least one"):
        curriculum_of(n)


def record(clip_id, source, labels=(), n_sources=N_SOURCES_UNKNOWN, **meta):
    return ClipRecord(
        clip_id=clip_id, source=source, uri="file:///x", labels=list(labels), n_sources=n_sources, meta=meta
    )


def test_assign_curricula_by_source(ontology, tmp_path):
    predictions = tmp_path / "pred.csv"
    predictions.write_text("clip_id,n_sources\nunlabelled,3\n")
    records = [
        record("solo", "music", ["cello"], 1),
        record("duet", "music", ["acoustic_guitar", "violin"], 2),
        record("world", "world", ["cello", "violin"], 5),
        record("as", "audioset", ["GUITAR", "ACOUSTIC", "DRUM"], mids=["guitar", "acoustic", "drum", "speech"]),
        record("unlabelled", "folder"),
        record("unknown", "folder"),
    ]
    params = DatasetParams(
        vocabulary=["instrument"], vocabulary_descendants=True, count_from="auto", predictions=str(predictions)
    )
    counts = assign_curricula(records, params, ontology=ontology)
    assert [r.n_sources for r in records] == [1, 2, 5, 2, 3, N_SOURCES_UNKNOWN]
    assert [r.curriculum for r in records] == ["C1", "C2", "C4", "C2", "C3", ""]
    assert counts == {"C1": 1, "C2": 2, "C3": 1, "C4": 1, "none": 1}


def test_labels_without_ontology_count_distinct_labels():
    params = DatasetParams()
    assert count_sources(record("u", "urls", ["cello", "violin"]), params) == 2
    assert count_sources(record("u", "urls"), params) == N_SOURCES_UNKNOWN
    with pytest.raises(ValueError, match=re.escape("dataset.ontology")):
        count_sources(record("a", "audioset", ["x"], mids=["/m/x"]), params)


def test_predictions_only_mode_ignores_labels(tmp_path):
    params = DatasetParams(count_from="predictions")
    assert count_sources(record("a", "urls", ["cello"]), params, predictions={"a": 4}) == 4
    with pytest.raises(ValueError, match=re.escape("dataset.predictions")):
        count_sources(record("a", "urls", ["cello"]), params)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("clip,n\na,1\n", "line 1: header must be clip_id,n_sources"),
        ("clip_id,n_sources\na,x\n", "line 2: n_sources 'x'"),
        ("clip_id,n_sources\na,-1\n", "line 2: n_sources '-1'"),
        ("clip_id,n_sources\na,1\na,2\n", "line 3: duplicate clip id 'a'"),
        ("clip_id,n_sources\na,1,2\n", "line 2: 3 fields"),
    ],
)
def test_bad_predictions_files(tmp_path, text, reason):
    path = tmp_path / "pred.csv"
    path.write_text(text)
    with pytest.raises(IndexFormatError, match=reason):
        read_predictions(path)


def test_ontology_file_from_params(tmp_path):
    path = tmp_path / "ontology.json"
    path.write_text(json.dumps(NODES))
    records = [record("as", "audioset", mids=["violin", "cello"])]
    assign_curricula(records, DatasetParams(ontology=str(path)))
    assert records[0].curriculum == "C2"
