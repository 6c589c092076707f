"""The ``vbt`` command line: demo, backtest, sweep, train, batch, research, schema, worker, report.

Each command prints a readable summary on stdout; ``--json`` prints machine-readable results
instead. Progress bars (shown only on a terminal) go to stderr.

Errors are one line on stderr, ``error: ...`` (a multi-line message is folded into one), with
nothing on stdout and nothing written to the output folder. Exit statuses (``EXIT_*``):

- 0: success;
- 2: bad input or usage: a ``vbt.VbtError`` (``ConfigError``, ``DataError``, ``ModelError``), a
  file-system error, or a bad command line;
- 1: an internal error (a bug): one line naming the exception; ``VBT_TRACEBACK=1`` re-raises it;
- 3: ``vbt batch`` ran every job but some failed (each failure is an error record;
  ``vbt.results.batch.EXIT_JOBS_FAILED``);
- 130: interrupted (Ctrl-C).

Warnings that libraries emit during a command are held back: after a success each is printed
as one ``warning: ...`` line on stderr; after an error they are dropped (the error says what
matters).

This module is that policy (``main``) and the console script (``script``). The rest:

- ``options``: the parser, every command's options and the shared option groups (a run's
  options, derived from the pydantic models);
- ``commands``: the handlers, one module per command (``run(args)`` returns the exit status);
- ``views``: what the commands show (rich tables, JSON, progress bars);
- ``process``: what ``vbt backtest`` may do in a process of its own (``gc.freeze``, ending
  without interpreter teardown).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator

from vbt.cli import commands, process
from vbt.cli.options import UsageError, parser, subparsers
from vbt.errors import VbtError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
TRACEBACK_ENV = "VBT_TRACEBACK"


def script() -> None:
    """The ``vbt`` console script: ``main`` in a process of its own.

    After a command that leaves nothing behind to clean up (``process.own_process``) the process
    ends at once, its output flushed, without tearing the interpreter down: finalising torch,
    Numba and their objects took 0.3-0.4 s of a short ``vbt backtest`` on a 2-core machine."""
    status = main(owns_process=True)
    if process.LEAVE_AT_ONCE:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)
    raise SystemExit(status)


def main(argv: list[str] | None = None, *, owns_process: bool = False) -> int:
    """Run the command line; returns the exit status (see the module docstring).

    ``owns_process``: nothing else runs in this process (the ``vbt`` script), so ``backtest`` may
    load torch and Numba once its inputs are checked and freeze what they created
    (``process.own_process``).
    """
    with _held_warnings() as held:
        try:
            p = parser()
            args = p.parse_args(argv)
            if not getattr(args, "command", None):
                names = ", ".join(subparsers(p).choices)
                raise UsageError(f"vbt: no command given; choose one of {names}")
            args.owns_process = owns_process
            status = int(commands.run(args) or EXIT_OK)
        except KeyboardInterrupt:
            return _fail("interrupted", EXIT_INTERRUPTED)
        except (UsageError, VbtError) as exc:
            return _fail(str(exc), EXIT_USAGE)
        except OSError as exc:  # disk full, permission denied, ... while writing or reading
            where = f"{exc.filename}: " if exc.filename else ""
            return _fail(f"{where}{exc.strerror or exc}", EXIT_USAGE)
        except Exception as exc:
            if os.environ.get(TRACEBACK_ENV):
                raise
            return _fail(
                f"internal error ({type(exc).__name__}: {exc}); please report it "
                f"({TRACEBACK_ENV}=1 shows the traceback)",
                EXIT_INTERNAL,
            )
    for message in held:
        print(f"warning: {_one_line(message)}", file=sys.stderr)
    return status


def _fail(message: str, status: int) -> int:
    print(f"error: {_one_line(message)}", file=sys.stderr)
    return status


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@contextlib.contextmanager
def _held_warnings() -> Iterator[list[str]]:
    """Collect Python warnings and WARNING log records (instead of printing them) while a
    command runs."""
    held: list[str] = []

    class _Hold(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            held.append(record.getMessage())

    root = logging.getLogger()
    handler = _Hold(logging.WARNING)
    root.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            yield held
            held.extend(str(w.message) for w in caught)
    finally:
        root.removeHandler(handler)
