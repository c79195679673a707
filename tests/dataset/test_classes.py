"""Class vocabularies: the built-in lists, ``dataset.classes``, labels mapped and counted against a vocabulary,
the record beside the shards and the params a model is built with."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from avsep.config import ParamsError, load_params
from avsep.config.vocabularies import AUDIOSET_INSTRUMENTS15, FLICKR7, MUSIC11, MUSIC_CLASSES, VOCABULARIES, vocabulary
from avsep.config.world import MUSIC_CLASSES as WORLD_CLASSES
from avsep.dataset.classes import labelled_with, outside_text
from avsep.models import classes_of, method, model_classes, with_data_classes
from avsep.models.common.classes import per_class
from avsep.shards.classes import CLASSES_FILE, ShardClassesError, build_classes, read_classes, record_classes
from avsep.sources.records import ClipRecord


def test_builtin_vocabularies_are_sorted_unique_and_named_as_the_papers_count_them():
    assert MUSIC11.classes == MUSIC_CLASSES == WORLD_CLASSES and len(MUSIC_CLASSES) == 11
    assert len(AUDIOSET_INSTRUMENTS15.classes) == 15 and len(FLICKR7.classes) == 7
    for vocab in VOCABULARIES.values():
        assert list(vocab.classes) == sorted(set(vocab.classes))
        mids = [e.mid for e in vocab.entries if e.mid]
        assert len(mids) == len(set(mids)) and all(m.startswith(("/m/", "/t/")) for m in mids)
    # the MIDs REFERENCE.md lists for AudioSet's instruments
    assert AUDIOSET_INSTRUMENTS15.class_of("/m/07y_7") == "violin" == AUDIOSET_INSTRUMENTS15.class_of("Violin, fiddle")
    assert AUDIOSET_INSTRUMENTS15.class_of("Acoustic guitar") == "acoustic_guitar"
    assert FLICKR7.class_of("/m/04rlf") == "music" and FLICKR7.class_of("violin") is None
    assert MUSIC11.class_of("tuba") == "tuba" and MUSIC11.class_of("banjo") is None


def test_dataset_classes_param_takes_a_name_or_a_list_and_names_bad_values():
    assert load_params(None, []).dataset.classes == "music11"
    assert classes_of(load_params(None, ["dataset.classes=flickr7"])) == FLICKR7.classes
    assert classes_of(load_params(None, ["dataset.classes=[dog, cat]"])) == ("dog", "cat")  # a list keeps its order
    with pytest.raises(ParamsError, match=r"dataset\.classes.*unknown class vocabulary 'music21'"):
        load_params(None, ["dataset.classes=music21"])
    with pytest.raises(ParamsError, match="repeats dog"):
        load_params(None, ["dataset.classes=[dog, dog]"])
    with pytest.raises(ParamsError, match="comma"):
        load_params(None, ['dataset.classes=["a,b"]'])
    with pytest.raises(ValueError, match="empty class list"):
        vocabulary([])


def _record(clip_id: str, labels: list[str]) -> ClipRecord:
    return ClipRecord(clip_id=clip_id, source="test", uri="file:///x.mp4", labels=labels, n_sources=len(labels))


def test_labels_are_named_as_the_vocabulary_and_outside_ones_counted_never_dropped():
    records = [
        _record("a", ["/m/07y_7", "Cello"]),  # AudioSet MID and display name
        _record("b", ["banjo", "kazoo"]),
        _record("c", ["kazoo", "erhu"]),
        _record("d", ["violin", "/m/07y_7"]),  # the same class twice: once
    ]
    out, outside = labelled_with(records, AUDIOSET_INSTRUMENTS15)
    assert [r.labels for r in out] == [["violin", "cello"], ["banjo", "kazoo"], ["kazoo", "erhu"], ["violin"]]
    assert outside == Counter({"kazoo": 2, "erhu": 1})
    assert outside_text(outside) == "kazoo: 2, erhu: 1"
    assert [r.n_sources for r in out] == [2, 2, 2, 2]  # everything else of the record is kept
    # labels already named as the vocabulary's: the very same records (the world's default build is untouched)
    same = [_record("w", ["tuba", "erhu"])]
    kept, none = labelled_with(same, MUSIC11)
    assert kept[0] is same[0] and not none


def test_the_record_beside_the_shards(tmp_path):
    clips, cocktail = tmp_path / "shards" / "clips", tmp_path / "shards" / "cocktail"
    for folder in (clips, cocktail):
        folder.mkdir(parents=True)
        (folder / "sizes.json").write_text("{}")
    # the default vocabulary writes nothing: the default build's folders are what they were
    assert record_classes(clips, MUSIC11) is None and not (clips / CLASSES_FILE).exists()
    assert read_classes(clips) == MUSIC_CLASSES and build_classes(tmp_path / "shards") == MUSIC_CLASSES
    assert build_classes(tmp_path / "nothing") is None
    record_classes(clips, AUDIOSET_INSTRUMENTS15)
    assert json.loads((clips / CLASSES_FILE).read_text())["vocabulary"] == "audioset_instruments15"
    assert read_classes(clips) == AUDIOSET_INSTRUMENTS15.classes
    with pytest.raises(ShardClassesError, match=r"different class vocabularies.*clips: 15 classes.*cocktail: 11"):
        build_classes(tmp_path / "shards")
    record_classes(cocktail, AUDIOSET_INSTRUMENTS15)
    assert build_classes(tmp_path / "shards") == AUDIOSET_INSTRUMENTS15.classes
    record_classes(clips, MUSIC11)  # a rebuild with the default removes the earlier record
    assert not (clips / CLASSES_FILE).exists()
    (cocktail / CLASSES_FILE).write_text('{"classes": []}')
    with pytest.raises(ShardClassesError, match=rf"{CLASSES_FILE}: 'classes' must be a non-empty list"):
        read_classes(cocktail)


def test_models_are_built_with_the_shards_classes(tmp_path, caplog):
    shards = tmp_path / "shards" / "clips"
    shards.mkdir(parents=True)
    (shards / "sizes.json").write_text("{}")
    params = load_params(None, ["pretrain.methods=[]", "profiles.demo.backbone_width=4"])
    assert with_data_classes(params, tmp_path) is params  # no record: MUSIC-11, as params say
    record_classes(shards, FLICKR7)
    read = with_data_classes(params, tmp_path)
    assert read.dataset.classes == "flickr7" and params.dataset.classes == "music11"
    assert "using the shards' classes" in caplog.text
    record_classes(shards, vocabulary(["dog", "cat", "car"]))
    custom = with_data_classes(params, tmp_path)
    assert custom.dataset.classes == ["dog", "cat", "car"]
    # a class-agnostic baseline repeats its map over the dataset's classes
    model = method("whole_image").build(custom)
    assert model_classes(model) == ("dog", "cat", "car")
    import torch

    assert per_class(torch.ones(2, 5, 5), model).shape == (2, 3, 5, 5)
    assert method("mssl").build(custom).cls_v.out_channels == 3
