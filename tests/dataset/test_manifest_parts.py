"""The manifest as appended parts: real parquet files, the union a reader sees, and compaction that gives the
bytes the old rewrite-per-batch gave."""

from __future__ import annotations

import pandas as pd
import pytest

from avsep.dataset.manifest import (
    PartWriter,
    append_manifest_part,
    compact_manifest,
    load_manifest,
    manifest_parts,
    parts_dir,
    save_manifest,
    upsert,
)
from avsep.sources.records import ClipRecord


def row(clip_id: str, status: str = "ok", labels: tuple[str, ...] = ("cello",), **changes) -> dict:
    record = ClipRecord(clip_id, "folder", f"/media/{clip_id}.mp4", 0.0, 6.0, list(labels), 1, "C1", "train")
    out = record.to_row()
    out.update(status=status, error="" if status == "ok" else f"{clip_id}: no audio stream", **changes)
    if status == "ok":
        out.update(input_sha256=f"in-{clip_id}", sample_sha256=f"sample-{clip_id}")
    return out


# Batches as a build finishes them: a re-built clip (b) and a clip that failed, then succeeded (d); one with no
# labels (an all-empty list column in its part) and one with no source count.
BATCHES = [
    [row("c"), row("a", labels=())],
    [row("d", status="decode"), row("b", labels=("flute", "violin"))],
    [row("e", n_sources=None, curriculum=""), row("b", labels=("flute",))],
    [row("d")],
]


def test_parts_compact_to_the_bytes_of_a_manifest_rewritten_after_every_batch(tmp_path):
    earlier = [row("z"), row("b", status="download")]  # a manifest from an earlier run
    old, new = tmp_path / "old" / "manifest.parquet", tmp_path / "new" / "manifest.parquet"
    save_manifest(pd.DataFrame(earlier), old)
    save_manifest(pd.DataFrame(earlier), new)
    frame = load_manifest(old)
    for batch in BATCHES:  # the flow before parts: upsert in memory, the whole file rewritten per batch
        frame = upsert(frame, batch)
        save_manifest(frame, old)
    for batch in BATCHES:
        append_manifest_part(batch, new)
    assert [p.name for p in manifest_parts(new)] == [f"part-{i:06d}.parquet" for i in range(len(BATCHES))]
    assert list(pd.read_parquet(new)["clip_id"]) == ["b", "z"]  # not compacted yet: still the earlier file
    assert load_manifest(new).equals(load_manifest(old))  # a reader already sees the union
    compact_manifest(new)
    assert new.read_bytes() == old.read_bytes()
    assert not parts_dir(new).exists()


def test_reading_with_parts_gives_the_union_latest_row_per_clip_winning(tmp_path):
    path = tmp_path / "manifest.parquet"
    save_manifest(pd.DataFrame([row("a", status="download"), row("k")]), path)
    for batch in BATCHES:
        append_manifest_part(batch, path)
    seen = load_manifest(path).set_index("clip_id")
    assert sorted(seen.index) == ["a", "b", "c", "d", "e", "k"]
    assert seen.loc["a", "status"] == "ok"  # the part's row replaced the file's
    assert list(seen.loc["b", "labels"]) == ["flute"]  # the third batch's b, not the second's
    assert seen.loc["d", "status"] == "ok" and seen.loc["d", "error"] == ""
    assert seen.loc["k", "status"] == "ok"  # a row no part touches is kept
    assert path.stat().st_size > 0 and len(manifest_parts(path)) == len(BATCHES)  # reading wrote nothing


def test_parts_alone_are_a_manifest_and_a_killed_compaction_repeats_to_the_same_file(tmp_path):
    path = tmp_path / "manifest.parquet"
    for batch in BATCHES:
        append_manifest_part(batch, path)
    assert not path.exists() and len(load_manifest(path)) == 5  # a first build killed between batches
    expected = load_manifest(path)
    # Killed after the merged file replaced the manifest but before the parts were deleted.
    save_manifest(expected, path)
    merged = path.read_bytes()
    assert load_manifest(path).equals(expected)
    compact_manifest(path)
    assert path.read_bytes() == merged and manifest_parts(path) == []
    append_manifest_part([row("f")], path)  # numbering starts again once the parts are folded in
    assert [p.name for p in manifest_parts(path)] == ["part-000000.parquet"]


def test_appending_never_reads_the_manifest(tmp_path):
    """The cost of a batch does not grow with the manifest: appending does not even open it."""
    path = tmp_path / "manifest.parquet"
    path.write_bytes(b"not parquet at all")
    append_manifest_part([row("a")], path)
    assert len(pd.read_parquet(manifest_parts(path)[0])) == 1
    assert append_manifest_part([], path) is None and len(manifest_parts(path)) == 1


def test_a_killed_part_write_is_ignored_and_a_foreign_file_is_named(tmp_path):
    path = tmp_path / "manifest.parquet"
    append_manifest_part([row("a")], path)
    (parts_dir(path) / ".part-000001.parquet.x1y2.partial").write_bytes(b"PAR1 half")  # what a kill leaves
    assert list(load_manifest(path)["clip_id"]) == ["a"]
    compact_manifest(path)
    assert parts_dir(path).is_dir()  # the hidden leftover is not deleted behind the user's back
    assert list(load_manifest(path)["clip_id"]) == ["a"]
    (parts_dir(path) / "part-latest.parquet").write_bytes(b"")
    with pytest.raises(ValueError, match=r"part-latest\.parquet: not a manifest part"):
        load_manifest(path)


def test_a_damaged_part_names_itself(tmp_path):
    path = tmp_path / "manifest.parquet"
    append_manifest_part([row("a")], path)
    part = append_manifest_part([row("b")], path)
    assert part is not None
    part.write_bytes(b"PAR1 truncated")
    with pytest.raises(ValueError, match=r"part-000001\.parquet: cannot read this manifest part"):
        load_manifest(path)


def test_a_part_writer_numbers_on_from_the_parts_a_killed_build_left(tmp_path):
    path = tmp_path / "manifest.parquet"
    append_manifest_part([row("a")], path)
    append_manifest_part([row("b")], path)
    writer = PartWriter(path)
    writer.append([row("a", status="decode")])
    writer.append([row("c")])
    assert [p.name for p in manifest_parts(path)] == [f"part-{i:06d}.parquet" for i in range(4)]
    assert writer.written == 2 and load_manifest(path).set_index("clip_id").loc["a", "status"] == "decode"
