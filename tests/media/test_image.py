"""decode_image: a still scaled exactly as a video's frames are, and errors that name the file."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from avsep.media import (
    CorruptFile,
    EmptyFile,
    MissingFile,
    NoVideoStream,
    VideoTooLarge,
    decode_frames,
    decode_image,
)
from avsep.media.ffmpeg import ffmpeg_exe
from tests.sources.flickr_pairs import make_still, make_wav


@pytest.fixture(scope="module")
def still(tmp_path_factory):
    return make_still(tmp_path_factory.mktemp("still") / "frame.jpg", "testsrc2", "64x48")


def test_a_still_gives_the_pixels_of_a_video_showing_it(still, tmp_path):
    # The jpg copied as is (no re-encoding) into a 2 s video: decode() must scale its frames to the same pixels.
    video = tmp_path / "still.avi"
    args = [ffmpeg_exe(), "-y", "-nostdin", "-loglevel", "error", "-framerate", "4", "-loop", "1", "-i", str(still)]
    subprocess.run([*args, "-t", "2", "-c:v", "copy", str(video)], check=True)
    frames = decode_frames(video, fps=4, size=(40, 24)).frames
    picture = decode_image(still, (40, 24))
    assert picture.shape == (24, 40, 3) and picture.dtype == np.uint8
    assert frames is not None and len(frames) == 8
    for frame in frames:
        np.testing.assert_array_equal(frame, picture)
    assert decode_image(still).shape == (48, 64, 3)  # no size: its own
    assert picture.std() > 10  # a picture, not a blank


def test_errors_name_the_file(still, tmp_path):
    empty, text, wav = tmp_path / "empty.jpg", tmp_path / "notes.txt", make_wav(tmp_path / "a.wav", seconds=0.5)
    empty.write_bytes(b"")
    text.write_text("not an image\n")
    named = tmp_path / "notes.jpg"  # ffmpeg trusts the name and finds no JPEG data in it
    named.write_text("not an image\n")
    cases = [
        (tmp_path / "gone.jpg", MissingFile, "no such file"),
        (empty, EmptyFile, "empty"),
        (text, CorruptFile, "not a readable media file"),
        (named, CorruptFile, "not a decodable image"),
        (wav, NoVideoStream, "no image"),
    ]
    for path, error, reason in cases:
        with pytest.raises(error, match=reason) as raised:
            decode_image(path, (32, 32))
        assert str(raised.value).startswith(f"{path}: ")
    with pytest.raises(VideoTooLarge, match=r"64x48 = 3072 pixels, above media.max_pixels = 3000"):
        decode_image(still, (32, 32), max_pixels=3000)
