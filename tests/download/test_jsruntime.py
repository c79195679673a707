"""The JavaScript runtime for YouTube's challenges: installed, runnable, and accepted by yt-dlp itself."""

import subprocess

import pytest
import yt_dlp

from avsep.download.jsruntime import deno_path, js_runtimes_option, missing, solver_scripts_installed


def test_deno_is_found_and_runs_a_script(tmp_path):
    path = deno_path()
    assert path is not None, missing()
    script = tmp_path / "answer.js"
    script.write_text("console.log(JSON.stringify({answer: 6 * 7}));\n")
    # The flags yt-dlp runs its solver with: nothing from the network, no prompts, no config.
    run = subprocess.run(
        [path, "run", "--no-remote", "--no-prompt", "--no-config", "--no-lock", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == '{"answer":42}'


def test_nothing_is_missing():
    assert solver_scripts_installed() and missing() is None


def _youtube_extractor(js_runtimes):
    ydl = yt_dlp.YoutubeDL({"js_runtimes": js_runtimes, "quiet": True, "cachedir": False})
    ie = ydl.get_info_extractor("Youtube")
    ie.initialize()  # sets up the challenge providers, without any request
    return ydl, ie


def test_ytdlp_accepts_the_runtime_and_uses_the_pinned_solver():
    ydl, ie = _youtube_extractor(js_runtimes_option())
    info = ydl._js_runtimes["deno"].info
    assert info is not None and info.supported and info.path == deno_path()
    # The test yt-dlp itself makes before choosing the clients that need challenges solved:
    assert any(p.is_available() for p in ie._jsc_director.providers.values())
    deno = ie._jsc_director.providers["Deno"]
    assert deno._core_script.source.value == "python package"  # yt-dlp-ejs, not a download
    assert deno._core_script.version == "0.8.0"


def test_ytdlp_runs_the_solver_in_deno():
    """The solver scripts run under yt-dlp's own deno invocation; a fake player is refused by the solver
    itself ("unexpected structure"), which proves the runtime started and executed it."""
    from yt_dlp.extractor.youtube.jsc.provider import JsChallengeProviderError

    _, ie = _youtube_extractor(js_runtimes_option())
    deno = ie._jsc_director.providers["Deno"]
    with pytest.raises(JsChallengeProviderError, match="unexpected structure"):
        deno._run_js_runtime(deno._construct_stdin("var notAPlayer = 1;", False, []))


def test_ytdlp_without_a_runtime_sees_none(tmp_path):
    _, ie = _youtube_extractor({"deno": {"path": str(tmp_path / "no-deno")}})
    assert not any(p.is_available() for p in ie._jsc_director.providers.values())
