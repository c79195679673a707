"""yt-dlp failure classes from the messages yt-dlp really prints (tests/fixtures/ytdlp/<class>.<case>.txt).

Each fixture is what yt-dlp wrote for one failure: its WARNING lines, then the ERROR (continuation lines
belong to the line before). The file name says the class it must get.
"""

from pathlib import Path

import pytest
import yt_dlp

from avsep.config.dataset import DownloadParams
from avsep.download import fetch, ledger_of
from avsep.download.errors import DownloadError
from avsep.download.youtube import classify_ytdlp_error
from avsep.download.youtube_errors import CLASSES, JS_CHALLENGE, classify
from avsep.sources.records import ClipRecord

from .server import http_server  # noqa: F401 - pytest fixture

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ytdlp"
RECORDED = sorted(FIXTURES.glob("*.txt"))
BY_NAME = {failure.name: failure for failure in CLASSES}


def printed(path: Path) -> tuple[list[str], str]:
    """(warnings, error) of a fixture, each without its WARNING:/ERROR: prefix."""
    blocks: list[list[str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(("WARNING: ", "ERROR: ")) or not blocks:
            blocks.append([line])
        else:
            blocks[-1].append(line)
    texts = ["\n".join(block) for block in blocks]
    assert texts[-1].startswith("ERROR: "), f"{path.name}: the last message must be the error"
    return [t.removeprefix("WARNING: ") for t in texts[:-1]], texts[-1]


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
def test_recorded_message_gets_its_class(path):
    expected = BY_NAME[path.stem.split(".")[0]]
    warnings, error = printed(path)
    # What fetch() sees: yt-dlp's DownloadError with the printed text, and the warnings of the attempt.
    result = classify_ytdlp_error("youtube:dQw4w9WgXcQ", yt_dlp.utils.DownloadError(error), warnings)
    assert (result.category, result.permanent) == (expected.name, expected.permanent)
    assert result.advice == expected.advice and result.advice
    assert not result.reason.startswith("ERROR") and "Use --" not in result.reason and "\n" not in result.reason
    assert f"[{expected.name}: {expected.advice}]" in str(result)  # what the manifest's error column gets


def test_every_class_has_a_recorded_message():
    recorded = {p.stem.split(".")[0] for p in RECORDED}
    assert recorded == set(BY_NAME), f"classes without a fixture: {set(BY_NAME) - recorded}"


def test_format_not_available_without_a_solver_is_not_written_off():
    _, error = printed(FIXTURES / "no_formats.solver-ran.txt")
    assert classify(error, solver_ready=True).failure.permanent  # the solver ran and still no format
    without = classify(error, solver_ready=False)
    assert without.failure is JS_CHALLENGE and not without.failure.permanent and not without.failure.retry_now


def test_fixture_texts_are_what_the_pinned_ytdlp_builds():
    """The recorded hints and the format error come from yt-dlp's own code, so a yt-dlp update that changes
    them shows here rather than as silently unclassified failures."""
    from yt_dlp.extractor.youtube._video import _EJS_WIKI_URL
    from yt_dlp.utils import ExtractorError

    ydl = yt_dlp.YoutubeDL({"quiet": True})
    hint = ydl.get_info_extractor("Youtube")._youtube_login_hint
    assert hint in (FIXTURES / "bot_check.sign-in.txt").read_text(encoding="utf-8")
    assert hint in (FIXTURES / "age_restricted.confirm-age.txt").read_text(encoding="utf-8")
    assert _EJS_WIKI_URL in (FIXTURES / "js_challenge.n-challenge.txt").read_text(encoding="utf-8")
    error = ExtractorError(
        "Requested format is not available. Use --list-formats for a list of available formats",
        expected=True,
        video_id="dQw4w9WgXcQ",
        ie="youtube",
    )
    assert printed(FIXTURES / "no_formats.solver-ran.txt")[1] == f"ERROR: {error}"


def test_class_and_advice_reach_the_ledger(http_server, tmp_path):  # noqa: F811
    # 127.0.0.1 as a "YouTube host" sends the URL through yt-dlp (its generic extractor).
    params = DownloadParams(retries=0, timeout_s=1.0, youtube_hosts=["127.0.0.1"])
    uri = http_server.url("/status/404")
    with pytest.raises(DownloadError) as info:
        fetch(ClipRecord(clip_id="clip1", source="urls", uri=uri), tmp_path, params)
    assert info.value.permanent and info.value.category == "not_found"
    entry = ledger_of(tmp_path, params).entry(uri)
    assert entry is not None and entry["class"] == "not_found" and entry["advice"] == BY_NAME["not_found"].advice
    with pytest.raises(DownloadError) as again:  # the next run: from the ledger, class and advice kept
        fetch(ClipRecord(clip_id="clip1", source="urls", uri=uri), tmp_path, params)
    assert "earlier run" in str(again.value) and "[not_found: " in str(again.value)
