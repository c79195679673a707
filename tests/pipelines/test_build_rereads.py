"""A re-run of the real build (``avsep build`` in a subprocess) does not read unchanged local files again: every
``open`` of the media is counted from outside the code (an audit hook, tests/faults/killpoint.py ``--count``)."""

from __future__ import annotations

import json
import os
import time

from avsep.dataset.filehashes import RACY_S
from tests.faults.harness import avsep_program, build_command, run_killed, tiny_mp4, world_row, write_world_index

N_CLIPS = 3


def test_a_rerun_reads_only_the_touched_and_changed_files(tmp_path, prefect_api):
    folder = tmp_path / "media"
    videos = [tiny_mp4(folder / f"clip-{i}.mp4") for i in range(N_CLIPS)]
    rows = [world_row(f"clip-{i}", video.name) for i, video in enumerate(videos)]
    index = write_world_index(folder / "index.csv", rows)
    time.sleep(RACY_S + 0.2)  # files written just now are hashed but not cached (see avsep.dataset.filehashes)
    work = tmp_path / "work"
    work.mkdir()

    def build() -> tuple[int, dict]:
        count = tmp_path / "opens.txt"
        done = run_killed(
            work, prefect_api, avsep_program(build_command(index)), "--open", r"/media/clip-\d\.mp4$", "--count", count
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return int(count.read_text()), json.loads((work / "data" / "build-stats.json").read_text())

    opens, stats = build()
    assert opens == N_CLIPS  # hashed once, by the build plan; the clip build reuses that hash
    assert (stats["files_read"], stats["files_unchanged"], stats["clips_built"]) == (N_CLIPS, 0, N_CLIPS)

    opens, stats = build()
    assert opens == 0 and (stats["files_read"], stats["files_unchanged"], stats["clips_built"]) == (0, N_CLIPS, 0)

    os.utime(videos[0])  # touched: read again, same content, so its clip is kept
    tiny_mp4(videos[1], seconds=2.0)  # new content and size: read again and rebuilt
    time.sleep(RACY_S + 0.2)
    opens, stats = build()
    assert opens == 2 and (stats["files_read"], stats["files_unchanged"], stats["clips_built"]) == (2, 1, 1)
    assert stats["manifest_parts"] == 1 and 0 <= stats["manifest_s"] < stats["flow_s"]
