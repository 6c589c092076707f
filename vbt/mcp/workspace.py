"""The MCP server's workspace: one folder holding everything an agent makes through it.

::

    <workspace>/
      strategies/<name>.yaml      strategies the agent saved (save_strategy)
      models/                     trained models (train; research's models/<key>/)
      runs/<run_id>/              every run: a backtest, a sweep, a research run (research's
                                  own runs/<key>/), a batch (runs/<run_id>/ as vbt.batch's out)
      trials.jsonl                the trial ledger (vbt.research.ledger): every trial counted
      .partial/<pid>/             where a backtest, sweep or batch is written before it is
                                  moved into runs/ (a cancelled or failed call leaves nothing
                                  in runs/)

A path an agent gives (a strategy, a model, a run, a report) is read relative to the workspace
and must stay inside it (symbolic links are resolved first); anything else is a ``ConfigError``
naming the argument. Run ids are ``<kind>-<UTC time>-<6 hex digits>`` (a research run's: the
key ``vbt.research`` gives it, 16 hex digits).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

from vbt.errors import ConfigError
from vbt.results.saved import MODELS_DIR, RUNS_DIR

STRATEGIES_DIR = "strategies"
PARTIAL_DIR = ".partial"


class Workspace:
    """The workspace folder ``root`` (created if missing) and the data folder (read-only)."""

    def __init__(self, root: str | Path, data_dir: str | Path | None = None):
        root = Path(root).expanduser()
        if root.exists() and not root.is_dir():
            raise ConfigError(f"--workspace {root}: is a file, not a folder")
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.data_dir = Path(data_dir).expanduser().resolve() if data_dir else None
        for sub in (STRATEGIES_DIR, MODELS_DIR, RUNS_DIR):
            (self.root / sub).mkdir(exist_ok=True)

    def clear_partial(self) -> None:
        """Remove what killed servers left half-written: the ``.partial/<pid>/`` folders of
        processes that no longer run (the server calls it when it starts)."""
        folder = self.root / PARTIAL_DIR
        for entry in folder.iterdir() if folder.is_dir() else ():
            if not (entry.name.isdigit() and Path(f"/proc/{entry.name}").exists()):
                shutil.rmtree(entry, ignore_errors=True)

    @property
    def strategies(self) -> Path:
        return self.root / STRATEGIES_DIR

    @property
    def models(self) -> Path:
        return self.root / MODELS_DIR

    @property
    def runs(self) -> Path:
        return self.root / RUNS_DIR

    def inside(self, value: object, argument: str, *, must_exist: bool = True) -> Path:
        """``value`` (a path relative to the workspace, or absolute) resolved; a ``ConfigError``
        naming ``argument`` when it is not a non-empty string, lies outside the workspace, or
        (``must_exist``) does not exist."""
        if not isinstance(value, str) or not value.strip() or "\x00" in value:
            raise ConfigError(f"{argument} = {value!r}: must be a path inside the workspace")
        try:
            path = Path(value)
            path = (path if path.is_absolute() else self.root / path).resolve()
            exists = path.exists()
        except (OSError, RuntimeError, ValueError) as exc:  # too long, a link loop, ...
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigError(f"{argument} = {value!r:.60}: not a usable path ({why})") from None
        if path != self.root and self.root not in path.parents:
            raise ConfigError(
                f"{argument} = {value!r}: outside the workspace {self.root}; give a path inside it"
            )
        if must_exist and not exists:
            raise ConfigError(f"{argument} = {value!r}: no such file or folder in the workspace")
        return path

    def relative(self, path: str | Path) -> str:
        """``path`` as the agent names it: relative to the workspace when inside it."""
        path = Path(path).resolve()
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def new_run_id(self, kind: str) -> str:
        return f"{kind}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"

    def partial(self, run_id: str) -> Path:
        """A fresh folder to write run ``run_id`` into before ``publish`` moves it to runs/
        (under ``.partial/<this process's id>/``, so servers sharing a workspace never touch
        each other's runs)."""
        path = self.root / PARTIAL_DIR / str(os.getpid()) / run_id
        path.mkdir(parents=True)
        return path

    def publish(self, partial: Path, run_id: str) -> Path:
        """Move a finished run into ``runs/<run_id>`` (one rename)."""
        final = self.runs / run_id
        os.replace(partial, final)
        return final

    def discard(self, partial: Path) -> None:
        shutil.rmtree(partial, ignore_errors=True)


__all__ = ["PARTIAL_DIR", "STRATEGIES_DIR", "Workspace"]
