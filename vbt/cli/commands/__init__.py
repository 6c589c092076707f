"""The commands' handlers, one module per command of ``vbt.cli.options.parser``: a module's
``run(args)`` does its command and returns the exit status.

A handler checks every input it can before any long work starts (loading bars, training, a
run) and leaves the output to ``vbt.cli.views``. What only a handler needs and ``vbt --help``
does not (torch, the engine, rich, plotly, the batch runner) is imported when the handler runs:
through ``vbt``'s lazy names (``vbt.BacktestEngine``, ``vbt.train``, ...) or inside the handler.
"""

from __future__ import annotations

import argparse

from vbt.cli.commands import (
    backtest,
    batch,
    demo,
    mcp,
    report,
    research,
    schema,
    sweep,
    train,
    worker,
)  # fmt: skip

#: each command's module, by the name in ``args.command``
COMMANDS = {"demo": demo, "backtest": backtest, "sweep": sweep, "report": report, "train": train,
            "batch": batch, "research": research, "schema": schema, "worker": worker,
            "mcp": mcp}  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run the command that ``args.command`` names (its module's ``run``, looked up now)."""
    return COMMANDS[args.command].run(args)
