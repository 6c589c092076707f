"""BacktestEngine: one backtest described by a ``BacktestConfig``, as the three stages of
``vbt.stages`` in a row. The engine keeps its ModelBundle, so repeated runs load the model once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vbt.arguments import CALLBACK, CANCEL, OPTIONAL_PATH, Arguments, instance_of
from vbt.config import BacktestConfig
from vbt.errors import ConfigError
from vbt.model.bundle import ModelBundle
from vbt.paths import check_output_file
from vbt.results import BacktestResult
from vbt.sim.runner import Checkpoint, ProgressFn, load_checkpoint
from vbt.stages import backtest, prepare

__all__ = ["BacktestConfig", "BacktestEngine"]

#: the arguments of ``BacktestEngine.run`` (``vbt backtest``'s flags go through them too)
RUN_ARGUMENTS = Arguments(
    "run", progress=CALLBACK, cancel=CANCEL, checkpoint=OPTIONAL_PATH,
    resume_from=instance_of(Checkpoint, "a Checkpoint", optional=True, path=True),
)  # fmt: skip


class BacktestEngine:
    """Runs one backtest described by a ``BacktestConfig``.

    ``run(progress=None, cancel=None, checkpoint=None, resume_from=None)``: progress(done, total)
    is called at each scan chunk boundary; ``cancel`` (callable → bool, or an Event) stops the run
    at the next boundary with ``CancelledError`` after writing ``checkpoint`` (a path) if given;
    ``checkpoint`` is also rewritten atomically after every chunk; ``resume_from`` (a checkpoint
    path) continues a run and gives results identical to an uninterrupted one.

    Before any data is loaded, ``run`` checks its arguments (``RUN_ARGUMENTS``: a bad one is a
    ``ConfigError`` naming it), that ``checkpoint`` can be written (its folder exists and is
    writable) and reads ``resume_from`` (a missing or corrupt file is refused); ``ConfigError``
    names the path.
    """

    def __init__(self, config: BacktestConfig):
        if not isinstance(config, BacktestConfig):
            raise ConfigError("BacktestEngine needs a vbt.BacktestConfig")
        self.config = config
        self._bundle = None

    @property
    def bundle(self):
        """The ModelBundle, loaded on first use and then kept (one torch.load per engine)."""
        if self._bundle is None:
            self._bundle = ModelBundle.load(self.config.model_path)
        return self._bundle

    def prepare(self):
        """``vbt.stages.prepare`` with this engine's config and model."""
        return prepare(self.config, bundle=self.bundle)

    def run(
        self,
        *,
        progress: ProgressFn | None = None,
        cancel: Any = None,
        checkpoint: str | Path | None = None,
        resume_from: str | Path | Any = None,
    ) -> BacktestResult:
        RUN_ARGUMENTS.check(
            progress=progress, cancel=cancel, checkpoint=checkpoint, resume_from=resume_from
        )
        if checkpoint is not None:
            check_output_file(checkpoint, "checkpoint")
        if resume_from is not None and not isinstance(resume_from, Checkpoint):
            resume_from = load_checkpoint(resume_from)
        return backtest(
            self.prepare(), progress=progress, cancel=cancel, checkpoint=checkpoint,
            resume_from=resume_from,
        )  # fmt: skip
