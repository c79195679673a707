"""Run a Python program and SIGKILL it at a chosen point, or under a file-size limit (fault injection).

    python tests/faults/killpoint.py [--open REGEX | --spawn REGEX] [--nth N] [--count FILE] [--fsize BYTES] \
        -- PROGRAM ARGS...

``--open REGEX``: the process kills itself with SIGKILL at the N-th ``open`` (audit event: builtin ``open``,
``os.open``, hence also ``tempfile.mkstemp``) of a path matching REGEX. ``--spawn REGEX``: at the N-th
subprocess whose command line matches REGEX (e.g. the ffmpeg of a decode), before it starts. A real SIGKILL
of the real program at a known point, so the test is deterministic without timing races.
``--count FILE``: kill nothing; write how many events matched to FILE when the program exits (how often a
program reads a file, observed from outside its code).
``--fsize BYTES``: RLIMIT_FSIZE, with SIGXFSZ ignored, so a write past the limit raises OSError (EFBIG) as a
full disk would. ``PROGRAM`` is ``-m module`` or a script path.
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import resource
import runpy
import signal
import sys
from pathlib import Path


def _hook(kind: str, pattern: re.Pattern, nth: int, count: str | None = None):
    seen = 0
    if count is not None:
        atexit.register(lambda: Path(count).write_text(f"{seen}\n"))

    def hook(event: str, args: tuple) -> None:
        nonlocal seen
        if event == "open" and kind == "open":
            target = args[0]
        elif event == "subprocess.Popen" and kind == "spawn":
            target = " ".join(str(a) for a in (args[1] if isinstance(args[1], (list, tuple)) else [args[1]]))
        else:
            return
        if isinstance(target, (str, bytes, os.PathLike)) and pattern.search(os.fsdecode(target)):
            seen += 1
            if seen == nth and count is None:
                os.kill(os.getpid(), signal.SIGKILL)

    return hook


def main(argv: list[str]) -> None:
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("--open")
    parser.add_argument("--spawn")
    parser.add_argument("--nth", type=int, default=1)
    parser.add_argument("--count")
    parser.add_argument("--fsize", type=int)
    args = parser.parse_args(argv[:split])
    program = argv[split + 1 :]
    if args.fsize is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, no core dump
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize, args.fsize))
    if args.open or args.spawn:
        kind = "open" if args.open else "spawn"
        sys.addaudithook(_hook(kind, re.compile(args.open or args.spawn), args.nth, args.count))
    if program[0] == "-m":
        sys.argv = [program[1], *program[2:]]
        runpy.run_module(program[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = program
        runpy.run_path(program[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
