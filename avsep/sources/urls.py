"""A CSV list of direct URLs: header ``url,start,end,labels`` (or ``url,start,end,labels,split``), one clip per row.

``url`` must be ``http://`` or ``https://`` (YouTube watch URLs are fetched with yt-dlp, others directly);
any other scheme (``file:``, ``ftp:``, ``data:``) is refused, so a URL list cannot read local files.
``start`` defaults to 0 and an empty ``end`` means "to the end"; ``labels`` is comma-joined and may be empty
(the clip is then counted by the learned counter). The optional ``split`` column names the row's split
(``train``, ``val`` or ``test``; empty: the build decides, :mod:`avsep.dataset.splits`); another value makes the
row ``invalid``. The clip id is the URL's file stem plus a hash of
``url|start|end``, so equal basenames on different hosts never collide.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from avsep.config.dataset import DatasetParams
from avsep.sources.errors import IndexFormatError
from avsep.sources.index_checks import checked_labels, finished
from avsep.sources.index_text import check_name, csv_rows, parse_seconds, read_index_text
from avsep.sources.records import ClipRecord, invalid_record, safe_clip_id

COLUMNS = ("url", "start", "end", "labels")
SPLIT_COLUMN = "split"  # optional fifth column
SPLITS = ("train", "val", "test")
SCHEMES = ("http", "https")
_STEM_CHARS = 40  # keep ids readable; uniqueness comes from the hash


def load(index: str | Path, params: DatasetParams) -> list[ClipRecord]:
    index = Path(index)
    rows = csv_rows(index, read_index_text(index))
    header = next(rows, None)
    if header is None:
        raise IndexFormatError(index, None, "index has no clips")
    line, names = header
    columns = tuple(n.lower() for n in names)
    if columns not in (COLUMNS, (*COLUMNS, SPLIT_COLUMN)):
        raise IndexFormatError(
            index,
            line,
            f"header must be {','.join(COLUMNS)}[,{SPLIT_COLUMN}], got {','.join(names)[:120]!r}",
        )
    records, wheres = [], []
    for line, fields in rows:
        try:
            url, start, end, labels_text, split = _parsed_row(fields, columns, index, line)
        except IndexFormatError as exc:
            # One malformed row is its own manifest row (status invalid), never a reason to drop the others.
            raw = PurePosixPath(unquote(urlsplit(fields[0]).path)).stem[:_STEM_CHARS] if fields else ""
            records.append(invalid_record("urls", f"url-{raw}", f"line {line}", str(exc)))
            wheres.append(line)
            continue
        labels = checked_labels([p.strip() for p in labels_text.split(",") if p.strip()], index, line, params)
        stem = PurePosixPath(unquote(urlsplit(url).path)).stem[:_STEM_CHARS] or "url"
        records.append(
            ClipRecord(
                clip_id=safe_clip_id(f"url-{stem}", params.clip_id_max_len, unique_key=f"{url}|{start}|{end}"),
                source="urls",
                uri=url,
                start_s=start,
                end_s=end,
                labels=labels,
                split=split,
            )
        )
        wheres.append(line)
    return finished(records, wheres, index, params)


def _parsed_row(
    fields: list[str], columns: tuple[str, ...], index: Path, line: int
) -> tuple[str, float, float | None, str, str]:
    """``(url, start, end, labels text, split)`` of one row; IndexFormatError naming the line and the reason."""
    if len(fields) != len(columns):
        raise IndexFormatError(index, line, f"{len(fields)} fields; expected {','.join(columns)}")
    url, start_text, end_text, labels_text = fields[:4]
    split = fields[4].strip() if len(fields) > 4 else ""
    if split and split not in SPLITS:
        raise IndexFormatError(index, line, f"split {split[:40]!r} is not one of {', '.join(SPLITS)} (or empty)")
    check_url(url, index, line)
    start = parse_seconds(start_text, index, line, "start") if start_text else 0.0
    end = parse_seconds(end_text, index, line, "end") if end_text else None
    if end is not None and end <= start:
        raise IndexFormatError(index, line, f"end {end} <= start {start}")
    return url, start, end, labels_text, split


def check_url(url: str, path: str | Path, where: int | str) -> str:
    check_name(url, path, where, "url")
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES or not parts.hostname:
        raise IndexFormatError(path, where, f"url {url[:80]!r}: only {'/'.join(SCHEMES)} URLs with a host are allowed")
    if any(ch.isspace() for ch in url):
        raise IndexFormatError(path, where, f"url {url[:80]!r} contains whitespace")
    return url
