"""`fieldbot` run in this process: `bot.cli.main(argv)` with the environment, working directory
and standard input a test gives, its standard output and error captured.

Starting `python -m bot.cli` costs seconds of imports each time; calling `main` costs nothing of
the kind and tests the same command line (arguments, settings read from the environment, exit
codes, what is printed). What only a process has (signals, kill -9, `serve` starting and
stopping, the exit status the shell sees) is tested with real processes: tests/support/processes.py.

`main` runs its own event loop (`asyncio.run`), so it runs on a thread of its own: `run_cli`
from a plain test, `await run_cli_async(...)` from an async one, whose loop keeps serving the
fake platforms meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple
from unittest import mock

from bot.cli import QUIET_LOGGERS, main


class Ran(NamedTuple):
    """What a run of `fieldbot` came to: its exit code and what it wrote."""

    code: int
    out: str
    err: str


@contextlib.contextmanager
def _logging_restored() -> Iterator[None]:
    """`main` adds a handler to the root logger and sets levels (`configure_logging`), as a
    process does once: take them back, or each run would add one more handler."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(level)
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


def _exit_code(exit: SystemExit, err: io.StringIO) -> int:
    """What the interpreter makes of a SystemExit that reaches it."""
    if exit.code is None:
        return 0
    if isinstance(exit.code, int):
        return exit.code
    print(exit.code, file=err)
    return 1


def _main(argv: Sequence[str], env: Mapping[str, str], cwd: Path | None, stdin: str) -> Ran:
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    with (
        tempfile.TemporaryDirectory(prefix="fieldbot-cwd-") as empty,
        _logging_restored(),
        mock.patch.dict(os.environ, env, clear=True),
        mock.patch.object(sys, "stdin", io.StringIO(stdin)),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        os.chdir(cwd or empty)  # Settings read a `.env` file from the working directory
        try:
            code = main(list(argv))
        except SystemExit as exit:  # argparse, and the commands' own one-line refusals
            code = _exit_code(exit, err)
        finally:
            os.chdir(here)
    return Ran(code, out.getvalue(), err.getvalue())


def run_cli(
    argv: Sequence[str], env: Mapping[str, str], stdin: str = "", cwd: Path | None = None
) -> Ran:
    """`fieldbot ARGV` with exactly the environment `env`, reading `stdin`, in `cwd` (by default
    an empty directory of its own: no `.env` file is read, relative paths land nowhere)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_main, argv, env, cwd, stdin).result()


async def run_cli_async(
    argv: Sequence[str], env: Mapping[str, str], stdin: str = "", cwd: Path | None = None
) -> Ran:
    """`run_cli` for async tests: the test's event loop runs on while the command does."""
    return await asyncio.to_thread(_main, argv, env, cwd, stdin)
