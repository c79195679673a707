"""Still clips (a SoundNet-Flickr pair: one jpg, one wav): the image is every frame, its content is in the hash."""

from __future__ import annotations

import shutil
from dataclasses import replace

import numpy as np
import pytest

from avsep.config import derive, load_params
from avsep.dataset.clips import input_hash
from avsep.dataset.stills import decode_still, still_frame
from avsep.media import MissingFile, decode_audio, decode_image
from avsep.sources import load_source
from avsep.sources.records import STILL_FRAME
from tests.conftest import REPO
from tests.sources.flickr_pairs import make_still, write_flickr_pair

BOXES = [(0, 0, 128, 256)]


@pytest.fixture(scope="module")
def params():
    return derive(load_params(REPO / "params.yaml"), {"dataset.source": "soundnet_flickr", "build.frame_size": 32})


@pytest.fixture
def flickr(tmp_path):
    root = tmp_path / "flickr"
    write_flickr_pair(root, "1001", BOXES, "smptebars", "48x32", seconds=2.0, rate=22050, channels=2)
    (root / "flickr_test.txt").write_text("1001\n")
    return root


def record_of(root, params):
    (record,) = load_source("soundnet_flickr", root / "flickr_test.txt", params.dataset)
    return record


def test_the_image_is_every_frame_of_the_audio_span(flickr, params):
    record = record_of(flickr, params)
    image = still_frame(record)
    assert image is not None and image == flickr / "frames" / "1001.jpg" and record.annotation == ""
    audio = flickr / "audio" / "1001.wav"
    frames, wave = decode_still(image, audio, 0.0, None, params)
    assert frames.shape == (8, 32, 32, 3)  # 2 s at build.fps = 4
    picture = decode_image(image, (32, 32))
    assert all(np.array_equal(frame, picture) for frame in frames)
    expected = decode_audio(audio, sample_rate=params.build.sample_rate).audio
    np.testing.assert_array_equal(wave, expected)
    assert len(wave) == 2 * params.build.sample_rate
    frames, wave = decode_still(image, audio, 0.5, 1.5, params)  # a span of it (build.clip_seconds)
    assert frames.shape == (4, 32, 32, 3) and len(wave) == params.build.sample_rate


def test_the_image_content_is_part_of_the_input_hash(flickr, params, tmp_path):
    record = record_of(flickr, params)
    first = input_hash(record, params)
    moved = tmp_path / "elsewhere"
    shutil.copytree(flickr, moved)
    assert input_hash(record_of(moved, params), params) == first  # a moved dataset is not rebuilt
    make_still(flickr / "frames" / "1001.jpg", "rgbtestsrc", "48x32")
    changed = input_hash(record, params)
    assert changed != first  # a new picture under the old name rebuilds the clip
    without = replace(record, meta={k: v for k, v in record.meta.items() if k != STILL_FRAME})
    assert still_frame(without) is None and input_hash(without, params) not in (first, changed)


def test_a_missing_image_is_hashed_by_its_path_and_fails_decoding_naming_it(flickr, params):
    record = record_of(flickr, params)
    image = flickr / "frames" / "1001.jpg"
    image.unlink()
    assert input_hash(record, params) != input_hash(
        replace(record, meta={**record.meta, STILL_FRAME: "/x.jpg"}), params
    )
    with pytest.raises(MissingFile, match=f"^{image}: no such file"):
        decode_still(image, flickr / "audio" / "1001.wav", 0.0, None, params)
