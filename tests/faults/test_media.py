"""Bad media through the real build flow: each clip gets a recorded row (or builds), nothing half-written,
every row survives the re-run, and the re-run completes without redoing finished clips."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from avsep.media.ffmpeg import ffmpeg_exe
from tests.faults.harness import half_written, manifest, run_flow, tiny_mp4, world_row, write_world_index
from tests.media.conftest import make_clip


def _truncated(fraction: float):
    def make(folder: Path) -> Path:
        data = tiny_mp4(folder / "whole.mp4").read_bytes()
        path = folder / f"cut{int(fraction * 100)}.mp4"
        path.write_bytes(data[: int(len(data) * fraction)])
        return path

    return make


def _zero(folder: Path) -> Path:
    (folder / "zero.mp4").write_bytes(b"")
    return folder / "zero.mp4"


def _wrong_extension(folder: Path) -> Path:
    path = folder / "video.wav"  # an mp4 named .wav: the decoder reads the content, not the name
    path.write_bytes(tiny_mp4(folder / "for-wav.mp4").read_bytes())
    return path


def _short_audio(folder: Path) -> Path:
    path = folder / "short-audio.mp4"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x64:rate=10:duration=1",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=16000:duration=0.2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            str(path),
        ],
        check=True,
    )
    return path


def _huge(folder: Path) -> Path:
    # One 8192x8192 MJPEG frame (cheap to make, unlike H.264): refused by media.max_pixels before decoding.
    path = folder / "huge.avi"
    subprocess.run(
        [
            ffmpeg_exe(),
            "-y",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=size=8192x8192:rate=1:duration=1",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=16000:duration=1",
            "-c:v",
            "mjpeg",
            "-c:a",
            "pcm_s16le",
            str(path),
        ],
        check=True,
    )
    return path


def _corrupt_middle(folder: Path) -> Path:
    data = bytearray(tiny_mp4(folder / "for-mid.mp4").read_bytes())
    middle = len(data) // 2
    data[middle - 2000 : middle + 2000] = (bytes(range(256)) * 16)[:4000]
    path = folder / "corrupt-middle.mp4"
    path.write_bytes(bytes(data))
    return path


# case -> (maker, expected status, words the error must contain)
CASES = {
    "zero-byte": (_zero, "decode", ["zero.mp4", "empty"]),
    "truncated-10pct": (_truncated(0.1), "decode", ["cut10.mp4"]),
    "truncated-50pct": (_truncated(0.5), "decode", ["cut50.mp4", "truncated"]),
    "truncated-90pct": (_truncated(0.9), "decode", ["cut90.mp4", "truncated"]),
    "wrong-extension": (_wrong_extension, "ok", []),
    "no-audio": (
        lambda f: make_clip(f / "no-audio.mp4", size=(64, 64), duration=1.0, audio=False),
        "decode",
        ["no-audio.mp4", "no audio stream"],
    ),
    "no-video": (
        lambda f: make_clip(f / "no-video.m4a", duration=1.0, video=False),
        "decode",
        ["no-video.m4a", "no video stream"],
    ),
    "audio-only-0.2s": (_short_audio, "ok", []),  # media.short_clip: pad -> padded with silence
    "video-1x1": (lambda f: make_clip(f / "one-pixel.mp4", size=(1, 1), duration=1.0), "ok", []),
    "video-8kx8k": (_huge, "decode", ["huge.avi", "8192x8192", "media.max_pixels"]),
    "vfr": (lambda f: make_clip(f / "vfr.mp4", size=(64, 64), duration=1.0, vfr=True), "ok", []),
    "corrupt-middle": (_corrupt_middle, "decode", ["corrupt-middle.mp4", "corrupt"]),
}


@pytest.fixture(scope="module")
def media_build(tmp_path_factory, prefect_api):
    """One index holding a good clip and every bad one; built, then built again."""
    root = tmp_path_factory.mktemp("media-faults")
    folder = root / "media"
    folder.mkdir()
    rows = [world_row("good", tiny_mp4(folder / "good.mp4").name)]
    for case, (make, _, _) in CASES.items():
        rows.append(world_row(case.replace(".", "_"), make(folder).name))
    index = write_world_index(folder / "index.csv", rows)
    first = run_flow(root, index, prefect_api)
    before = manifest(root / "data")
    second = run_flow(root, index, prefect_api)
    return {"data": root / "data", "first": first, "second": second, "before": before, "after": manifest(root / "data")}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_media(case, media_build, reliability):
    _, status, words = CASES[case]
    clip_id = case.replace(".", "_")
    reliability["expected"] = f"status {status}" + (f", error names {', '.join(words)}" if words else "")
    row = media_build["before"].loc[clip_id]
    error = row["error"].replace(f"{media_build['data'].parent / 'media'}/", "")
    reliability["observed"] = f"status {row['status']}" + (f": {error}" if error else "")
    assert row["status"] == status, row["error"]
    for word in words:
        assert word in row["error"]
    if status == "ok":
        assert (media_build["data"] / "clips" / f"{clip_id}.tar").is_file()
    else:
        assert not (media_build["data"] / "clips" / f"{clip_id}.tar").exists()
    assert media_build["before"].loc["good", "status"] == "ok"
    assert half_written(media_build["data"]) == []
    # The re-run completes, keeps every row, and redoes nothing that was finished.
    after = media_build["after"]
    assert sorted(after.index) == sorted(media_build["before"].index)
    assert after.loc[clip_id, "status"] == status and after.loc[clip_id, "error"] == row["error"]
    assert after.loc[clip_id, "sample_sha256"] == row["sample_sha256"]
    assert media_build["second"]["clips"] == media_build["first"]["clips"] == len(CASES) + 1
