"""The ``vbt`` command line: demo, backtest, sweep, train, batch, research, schema, worker, report.

Each command prints a readable summary on stdout; ``--json`` prints machine-readable results
instead. Progress bars (shown only on a terminal) go to stderr.

Errors are one line on stderr, ``error: ...`` (a multi-line message is folded into one), with
nothing on stdout and nothing written to the output folder. Exit statuses (``EXIT_*``):

- 0: success;
- 2: bad input or usage: a ``vbt.VbtError`` (``ConfigError``, ``DataError``, ``ModelError``), a
  file-system error, or a bad command line;
- 1: an internal error (a bug): one line naming the exception; ``VBT_TRACEBACK=1`` re-raises it;
- 3: ``vbt batch`` ran every job but some failed (each failure is an error record);
- 130: interrupted (Ctrl-C).

Warnings that libraries emit during a command are held back: after a success each is printed
as one ``warning: ...`` line on stderr; after an error they are dropped (the error says what
matters).

``_add_run_options(parser)`` and ``_config_from_args(args)`` define the options of a run (data,
costs, decisions, chunking) once, for every command that runs backtests. Their defaults are not
restated here: an option left out is not passed, so the pydantic models' defaults apply, and the
help texts read those defaults from the models' fields.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vbt import __version__
from vbt.errors import VbtError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_JOBS_FAILED = 3  # vbt.batches.EXIT_JOBS_FAILED
TRACEBACK_ENV = "VBT_TRACEBACK"


class UsageError(Exception):
    """A bad command line (argparse's complaint, as one line)."""


class _Parser(argparse.ArgumentParser):
    """argparse prints usage and the message over several lines and exits; here the message
    becomes one ``error:`` line (``main`` prints it)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def script() -> None:
    """The ``vbt`` console script: ``main`` in a process of its own.

    After a command that leaves nothing behind to clean up (``_own_process``) the process ends at
    once, its output flushed, without tearing the interpreter down: finalising torch, Numba and
    their objects took 0.3-0.4 s of a short ``vbt backtest`` on a 2-core machine."""
    status = main(owns_process=True)
    if _LEAVE_AT_ONCE:
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
    (``_own_process``).
    """
    with _held_warnings() as held:
        try:
            parser = _parser()
            args = parser.parse_args(argv)
            if not getattr(args, "command", None):
                commands = ", ".join(_subparsers(parser).choices)
                raise UsageError(f"vbt: no command given; choose one of {commands}")
            args.owns_process = owns_process
            status = int(args.func(args) or EXIT_OK)
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


#: set by ``_own_process``: the ``vbt`` script may end without interpreter teardown
_LEAVE_AT_ONCE = False


def _own_process(args: argparse.Namespace) -> None:
    """For ``vbt backtest`` in a process that vbt owns (``args.owns_process``), once its inputs are
    checked (a bad one is reported without waiting for torch):

    - import torch and Numba, then ``gc.freeze()``: everything imported so far (a few hundred
      thousand objects, torch's mostly) lives as long as the process, and Python's cyclic garbage
      collector would otherwise walk all of it again at every full collection during the run
      (0.2-0.3 s of a short backtest on a 2-core machine). Frozen objects are left out of cyclic
      collection for good, hence never in someone else's process;
    - let ``script`` end the process without interpreter teardown: a backtest closes every file
      it writes and starts no process, thread or server that would need stopping."""
    global _LEAVE_AT_ONCE
    if not getattr(args, "owns_process", False):
        return
    import numba  # noqa: F401
    import torch  # noqa: F401

    gc.freeze()
    _LEAVE_AT_ONCE = True


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


# ---------------------------------------------------------------------------------------------
# the parser


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="vbt", description="Vectorized backtests of PyTorch trading models.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command")

    d = sub.add_parser(
        "demo", help="train a small model on generated demo bars and backtest it",
        description="Generate six months of synthetic EURUSD bars, train the demo strategy "
        "(RSI and Bollinger Bands on 1h and 5m) on them and backtest the model.",
    )  # fmt: skip
    d.add_argument(
        "--out", default="out/demo",
        help="folder for the demo's data, model and results (default: %(default)s)",
    )  # fmt: skip
    d.add_argument(
        "--epochs", type=int,
        help="training epochs (default: the demo strategy's training.epochs)",
    )  # fmt: skip
    _add_json(d)
    d.set_defaults(func=_demo)

    b = sub.add_parser(
        "backtest", help="backtest a v3 model directory",
        description="Backtest a v3 model directory on the bars in a data folder.",
    )  # fmt: skip
    b.add_argument("model_path", help="a v3 model directory (or its <tf>_latest pointer)")
    _add_run_options(b)
    b.add_argument(
        "--out",
        help="save metrics.json, trades.parquet and equity.parquet in this folder "
        "(default: not saved)",
    )
    _add_report(b)
    b.add_argument(
        "--checkpoint",
        help="checkpoint file, rewritten atomically at each chunk boundary; its folder must "
        "exist (default: none)",
    )
    b.add_argument(
        "--resume-from",
        help="resume from this checkpoint file, checked before any data is loaded "
        "(default: start at the first bar)",
    )
    _add_json(b)
    b.set_defaults(func=_backtest)

    import vbt.sweeps

    sweep_default = {k: v.default for k, v in _signature(vbt.sweeps.sweep).parameters.items()}
    w = sub.add_parser(
        "sweep",
        help="backtest many decision, cost and sizing combinations over one inference",
        description="Sweep parameters that act after the model (decision filters, regression "
        "threshold, sizing, costs) over one inference. Sweepable: " + ", ".join(_sweepable()),
    )
    w.add_argument("model_path", help="a v3 model directory (or its <tf>_latest pointer)")
    _add_run_options(w)
    w.add_argument(
        "--grid", action="append", default=[], metavar="NAME=VALUES",
        help="a swept parameter: NAME=start:stop:step (stop included) or NAME=a,b,c; repeat "
        "(default: none; give at least one --grid or a --grid-file)",
    )  # fmt: skip
    w.add_argument(
        "--grid-file",
        help="YAML/JSON mapping {name: list | start:stop:step | {start, stop, step}} "
        "(default: none)",
    )
    w.add_argument(
        "--constraint",
        help="keep combinations where this holds, e.g. 'slippage <= commission' "
        "(default: every combination)",
    )
    w.add_argument(
        "--max-combos", type=int,
        help="run a seeded random subset of this many (default: every combination)",
    )  # fmt: skip
    w.add_argument(
        "--seed", type=int, default=sweep_default["seed"],
        help="seed of the --max-combos draw (default: %(default)s)",
    )  # fmt: skip
    w.add_argument("--threads", type=int, help="Numba threads (default: the usable cores)")
    _add_backend(w, "combinations")
    w.add_argument("--by", default="sharpe_ratio", help="metric to rank by (default: %(default)s)")
    w.add_argument("--top", type=int, default=10, help="rows to show (default: %(default)s)")
    w.add_argument(
        "--out", help="save results.parquet and summary.json in this folder (default: not saved)"
    )
    _add_report(w, sweep=True)
    w.add_argument(
        "--checkpoint",
        help="checkpoint file, rewritten at each chunk boundary; its folder must exist "
        "(default: none)",
    )
    w.add_argument(
        "--resume-from",
        help="resume from this checkpoint file (default: start at the first combination)",
    )
    _add_json(w)
    w.set_defaults(func=_sweep)

    r = sub.add_parser(
        "report", help="write the HTML report of a saved backtest, sweep or research run",
        description="Write one self-contained HTML file (plots included, no network needed) for "
        "a result folder saved by `backtest --out` or `sweep --out`, or a research run's folder "
        "(`research --out`: <out>/runs/<run>/).",
    )  # fmt: skip
    r.add_argument(
        "result_dir",
        help="a result folder (metrics.json, ...; results.parquet, ...; or a research run's "
        "report.json, ...)",
    )
    r.add_argument("--out", help="the HTML file to write (default: RESULT_DIR/report.html)")
    r.add_argument("--by", help="sweep: the metric to rank and colour by (default: sharpe_ratio)")
    r.add_argument("--top", type=int, help="sweep: rows in the table of best rows (default: 10)")
    _add_heatmap(r)
    r.set_defaults(func=_report_command)

    from vbt.model.train_config import DEFAULT_EPOCHS
    from vbt.model.trainer import train

    train_default = {k: v.default for k, v in _signature(train).parameters.items()}
    t = sub.add_parser(
        "train", help="train a v3 strategy into a model directory",
        description="Train a v3 strategy's network on the bars in a data folder and write a "
        "v3 model directory <out-dir>/<strategy>/<tf>_v<N>/.",
    )  # fmt: skip
    t.add_argument("strategy", help="the v3 strategy YAML file")
    _add_data_dir(t)
    t.add_argument(
        "--symbol",
        help="train on this symbol alone (default: every symbol of the strategy)",
    )
    t.add_argument(
        "--start-date",
        help="first bar, inclusive, ISO 8601 (default: the strategy's training_data.start_date, "
        "else the first bar on disk)",
    )
    t.add_argument(
        "--end-date",
        help="last bar, inclusive; a bare date covers its day (default: the strategy's "
        "training_data.end_date, else the last bar on disk)",
    )
    t.add_argument(
        "--out-dir", default="models",
        help="folder the model directory is written into (default: %(default)s)",
    )  # fmt: skip
    t.add_argument(
        "--device", default=train_default["device"],
        help="torch device: cpu, cuda, cuda:N or mps (default: %(default)s)",
    )  # fmt: skip
    t.add_argument(
        "--seed", type=int, default=train_default["seed"],
        help="seed of weight init, dropout and batch order, in [0, 2**64 - 1] "
        "(default: %(default)s)",
    )  # fmt: skip
    t.add_argument(
        "--epochs", type=int,
        help=f"at most this many epochs (default: the strategy's training.epochs, else "
        f"{DEFAULT_EPOCHS})",
    )  # fmt: skip
    _add_json(t)
    t.set_defaults(func=_train)
    _add_batch(sub)
    _add_research(sub)
    _add_schema(sub)
    _add_worker_parser(sub)
    return p


def _add_research(sub) -> None:
    from vbt.research.cycle import RESEARCH_CONFIG_FIELDS
    from vbt.research.cycle import research as run

    default = {k: v.default for k, v in _signature(run).parameters.items()}
    r = sub.add_parser(
        "research", help="train a strategy, backtest it out of sample and judge it against chance",
        description="Validate a v3 strategy, train it, backtest it only on bars that training and "
        "early stopping never saw (the held-out test split, or K walk-forward folds), and "
        "assess it: buy-and-hold and random entries over the same bars, the probabilistic and "
        "deflated Sharpe ratios (trials counted in the output folder's ledger), and a verdict: "
        "promising, inconclusive or not better than chance.",
    )  # fmt: skip
    r.add_argument("strategy", help="the v3 strategy YAML file")
    _add_data_dir(r)
    r.add_argument("--symbol", help="symbol (default: the strategy's symbol)")
    r.add_argument(
        "--start-date",
        help="first bar used, inclusive (default: the strategy's training_data.start_date, else "
        "the first bar on disk)",
    )
    r.add_argument(
        "--end-date",
        help="last bar used, inclusive (default: the strategy's training_data.end_date, else the "
        "last bar on disk)",
    )
    r.add_argument(
        "--walk-forward", type=int, metavar="K",
        help="K anchored walk-forward folds, retrained per fold (default: one held-out split, the "
        "strategy's training.data_split)",
    )  # fmt: skip
    r.add_argument(
        "--purge-bars", type=int,
        help="walk-forward: bars between a training window and its test block (default: the label "
        "horizon)",
    )  # fmt: skip
    r.add_argument(
        "--embargo-bars", type=int,
        help="walk-forward: bars after each test block never trained on (default: 1%% of the bars)",
    )  # fmt: skip
    r.add_argument(
        "--simulations", type=int, default=default["simulations"],
        help="random-entry Monte Carlo runs (default: %(default)s)",
    )  # fmt: skip
    r.add_argument(
        "--seed", type=int, default=default["seed"],
        help="seed of training and of the random entries (default: %(default)s)",
    )  # fmt: skip
    r.add_argument("--epochs", type=int, help="training epochs (default: training.epochs)")
    r.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", dest="settings",
        help="a run setting for the backtests, repeatable; NAME is one of "
        f"{', '.join(RESEARCH_CONFIG_FIELDS)} (default: the strategy's decisions and the "
        "default costs)",
    )  # fmt: skip
    r.add_argument(
        "--out", default=default["out_dir"],
        help="folder of the trial ledger (trials.jsonl), models and reports (default: %(default)s)",
    )  # fmt: skip
    _add_report(r)
    _add_json(r)
    r.set_defaults(func=_research)


def _add_batch(sub) -> None:
    b = sub.add_parser(
        "batch", help="run many backtests from a spec, sharing bars, features and inference",
        description="Run the jobs of a batch spec (YAML or JSON; `vbt schema batch` prints its "
        "JSON Schema) in worker processes that share bars, features, model loads and "
        "inference. Writes results.jsonl (a line per job as it finishes) and summary.json "
        "(ranked) into --out; a rerun into the same folder skips the jobs recorded there. "
        f"Exit status: 0 when every job succeeded, {EXIT_JOBS_FAILED} when some failed, 2 for a "
        "bad spec (nothing runs).",
    )  # fmt: skip
    b.add_argument("spec", help="the batch spec (.yaml, .yml or .json)")
    b.add_argument(
        "--out", required=True,
        help="output folder: results.jsonl, summary.json, trials.jsonl (default: none; required)",
    )  # fmt: skip
    b.add_argument(
        "--jobs", type=int,
        help="worker processes; 1 runs the jobs in this process (default: the usable cores)",
    )  # fmt: skip
    b.add_argument(
        "--retry-errors", action="store_true",
        help="run again the jobs recorded as errors (default: skip every recorded job)",
    )  # fmt: skip
    b.add_argument("--top", type=int, default=10, help="ranked rows to show (default: %(default)s)")
    _add_backend(b, "jobs")
    _add_json(b)
    b.set_defaults(func=_batch)


def _add_schema(sub) -> None:
    s = sub.add_parser(
        "schema", help="print the JSON Schema of a file vbt reads",
        description="Print a JSON Schema: `batch` (the spec of `vbt batch`).",
    )  # fmt: skip
    s.add_argument("what", choices=["batch"], help="which schema")
    s.set_defaults(func=_schema)


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def _add_backend(p: argparse.ArgumentParser, what: str) -> None:
    """--backend and --ray-address (README "Scale-out")."""
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help=f"where the {what} run: this machine, or a Ray cluster (needs the "
                   "vbt[ray] extra) (default: %(default)s)")  # fmt: skip
    p.add_argument("--ray-address", help="the Ray cluster, e.g. ray://head:10001 or auto "
                   "(default: a local one)")  # fmt: skip


def _add_worker_parser(sub) -> None:
    """``vbt worker``: the HTTP job service (vbt.worker)."""
    w = sub.add_parser(
        "worker", help="serve backtests and sweeps over HTTP (the older worker API)",
        description="HTTP worker. Binds to loopback by default; any other --host needs a bearer "
        "token in VBT_WORKER_TOKEN, which every endpoint but /health then requires.",
    )  # fmt: skip
    w.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind; not loopback needs VBT_WORKER_TOKEN (default: 127.0.0.1)",
    )
    w.add_argument("--port", type=int, default=5003, help="TCP port (default: 5003)")
    w.add_argument(
        "--models-root",
        required=True,
        help="model paths resolve inside this folder (default: none: required)",
    )
    w.add_argument(
        "--data-root",
        required=True,
        help="data paths resolve inside this folder (default: none: required)",
    )
    w.add_argument(
        "--state-dir",
        required=True,
        help="job store, checkpoints and results (default: none: required)",
    )
    w.add_argument(
        "--max-concurrent",
        type=int,
        default=1,
        help="jobs running at once, each in its own process (default: 1)",
    )
    w.add_argument(
        "--max-queue",
        type=int,
        default=64,
        help="waiting jobs before a start is answered 503 (default: 64)",
    )
    w.add_argument(
        "--max-body-bytes",
        type=int,
        default=1 << 20,
        help="request body limit, bytes (default: 1048576)",
    )
    w.add_argument(
        "--checkpoint-bars",
        type=int,
        default=65_536,
        help="bars per chunk: progress, cancel and checkpoints happen between chunks "
        "(default: 65536)",
    )
    w.add_argument(
        "--ray-address",
        help="send sweeps and batches to this Ray cluster, e.g. ray://head:10001 or auto "
        "(default: none, they run in the worker's own job processes)",
    )
    w.add_argument(
        "--chunk-delay",
        type=float,
        default=0.0,
        help="seconds to pause after each chunk, to test cancel and crash paths (default: 0)",
    )
    from vbt.worker.settings import BACKEND_URL_ENV, HEALTH_CHECK_TIMEOUT_S, PUBLIC_URL_ENV

    w.add_argument(
        "--backend-url",
        help="register with this older (ktrdr) backend and stay registered, e.g. "
        f"http://backend:8000 (default: ${BACKEND_URL_ENV[0]}, else ${BACKEND_URL_ENV[1]}, "
        "else none: no registration)",
    )
    w.add_argument(
        "--worker-id",
        help="this worker's id at the backend (default: $KTRDR_WORKER_ID, else $WORKER_ID, "
        "else backtest-<host name>)",
    )
    w.add_argument(
        "--public-url",
        help=f"the URL the backend calls this worker at (default: ${PUBLIC_URL_ENV[0]}, else "
        f"${PUBLIC_URL_ENV[1]}, else http://<host name>:<port>)",
    )
    w.add_argument(
        "--health-check-timeout",
        type=float,
        default=HEALTH_CHECK_TIMEOUT_S,
        help="seconds without a health check from the backend before the worker asks whether "
        "it is still registered; the retry and polling delays scale with it (default: %(default)g)",
    )
    w.add_argument(
        "--trusted-network",
        action="append",
        metavar="CIDR",
        help="requests from this network need no token (repeatable), e.g. the private container "
        "network of an older backend, which sends none (default: $VBT_WORKER_TRUSTED_NETWORKS, "
        "comma-separated, else none)",
    )
    w.set_defaults(func=_worker)


def _worker_settings(args):
    """The WorkerSettings of ``vbt worker`` (flags first, then the environment)."""
    from vbt.worker.settings import WorkerSettings

    return WorkerSettings.from_env(
        models_root=args.models_root, data_root=args.data_root, state_dir=args.state_dir,
        host=args.host, port=args.port, max_concurrent=args.max_concurrent,
        max_queue=args.max_queue, max_body_bytes=args.max_body_bytes,
        checkpoint_bars=args.checkpoint_bars, chunk_delay_s=args.chunk_delay,
        ray_address=args.ray_address, backend_url=args.backend_url, worker_id=args.worker_id,
        public_url=args.public_url, health_check_timeout_s=args.health_check_timeout,
        trusted_networks=tuple(args.trusted_network or ()),
    )  # fmt: skip


def _worker(args) -> int:
    from vbt.worker.server import serve

    serve(_worker_settings(args))
    return 0


def _signature(fn):
    import inspect

    return inspect.signature(fn)


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true",
        help="print machine-readable JSON instead of tables (default: tables)",
    )  # fmt: skip


def _add_report(parser: argparse.ArgumentParser, sweep: bool = False) -> None:
    what = "the sweep (ranked --by)" if sweep else "the run"
    parser.add_argument(
        "--report", metavar="FILE",
        help=f"write the HTML report of {what} to this file; its folder must exist, or be "
        "--out or lie inside it (default: none)",
    )  # fmt: skip
    if sweep:
        _add_heatmap(parser)


def _write_report(write: Any, path: str, **options: Any) -> Path:
    """``write(path, **options)`` (a result's report method) once the run has succeeded, first
    creating its missing folders (checked before the run: they lie inside --out)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write(path, **options)


def _add_heatmap(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--heatmap", metavar="X,Y",
        help="sweep report: the two swept parameters of the heatmap (default: the first two "
        "that vary)",
    )  # fmt: skip


def _heatmap_axes(value: str | None) -> tuple[str, str] | None:
    from vbt.errors import ConfigError

    if value is None:
        return None
    names = [v.strip() for v in value.split(",")]
    if len(names) != 2 or not all(names):
        raise ConfigError(f"--heatmap {value!r}: expected two swept parameters, X,Y")
    return names[0], names[1]


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    from vbt.config import help_text

    parser.add_argument("--data-dir", help=help_text("data_dir"))


def _run_option_groups() -> list[tuple[str, tuple[str, ...]]]:
    """The run's flags by help group, from the models (no field is listed here): the data,
    then the run settings as ``vbt.params`` declares them, then BacktestConfig's other fields.
    model_path is an argument; timeframes has no flag."""
    from vbt.config import SUBJECT_FIELDS, BacktestConfig
    from vbt.params import DECISION_OVERRIDES, EXECUTION_FIELDS, RISK_FIELDS

    settings = (*SUBJECT_FIELDS, *DECISION_OVERRIDES, *EXECUTION_FIELDS)
    return [
        ("data", tuple(k for k in SUBJECT_FIELDS if k not in ("model_path", "timeframes"))),
        ("capital and costs", tuple(k for k in EXECUTION_FIELDS if k not in RISK_FIELDS)),
        ("decisions (override the model's config.json)", DECISION_OVERRIDES),
        ("risk exits (README: Risk exits)", RISK_FIELDS),
        ("run", tuple(k for k in BacktestConfig.model_fields if k not in settings)),
    ]


# BacktestConfig fields set by _add_run_options, in the order of the help.
RUN_FIELDS = tuple(k for _title, names in _run_option_groups() for k in names)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run (data, costs, decisions, annualisation, chunking): one flag per
    field of ``RUN_FIELDS``, ``--field-name``, default None (= the field's default applies;
    the help, the field's description, says which). ``_config_from_args`` turns them into a
    ``BacktestConfig``."""
    from vbt.config import BacktestConfig, help_text
    from vbt.params import value_type

    _add_data_dir(parser)
    for title, names in _run_option_groups():
        g = parser.add_argument_group(title)
        for name in names:
            if name == "data_dir":  # added above, shared with other commands
                continue
            kind = value_type(BacktestConfig.model_fields[name])
            how = ({"action": argparse.BooleanOptionalAction} if kind is bool
                   else {"type": kind} if kind in (int, float) else {})  # fmt: skip
            g.add_argument("--" + name.replace("_", "-"), help=help_text(name).replace("%", "%%"),
                           **how)  # fmt: skip


def _config_from_args(args: argparse.Namespace, **fields: Any):
    """A ``BacktestConfig`` from the options of ``_add_run_options`` (those given), the
    ``model_path`` argument (when the command has one) and ``fields``; bad values raise
    ``ConfigError`` naming the field."""
    import vbt

    names = (*RUN_FIELDS, "model_path")
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    return vbt.BacktestConfig(**{**given, **fields})


def _sweepable() -> list[str]:
    from vbt.sweeps.grid import SWEEPABLE

    return list(SWEEPABLE)


def _grid_from_args(args) -> dict[str, Any]:
    """--grid-file first, then each --grid NAME=VALUES (a later one replaces an earlier one)."""
    from vbt.errors import ConfigError
    from vbt.strategy.yamlfile import read_yaml

    grid: dict[str, Any] = {}
    if args.grid_file:
        loaded = read_yaml(args.grid_file, "grid file")  # bounded aliases, no duplicate keys
        if not isinstance(loaded, dict):
            raise ConfigError(f"{args.grid_file}: a grid file is a mapping {{parameter: values}}")
        grid.update(loaded)
    for item in args.grid:
        name, eq, values = item.partition("=")
        if not eq or not name.strip():
            raise ConfigError(
                f"--grid {item!r}: expected NAME=VALUES, e.g. commission=0.0005,0.001"
            )
        grid[name.strip()] = values
    if not grid:
        raise ConfigError("sweep: give at least one --grid NAME=VALUES (or --grid-file)")
    return grid


# ---------------------------------------------------------------------------------------------
# the commands


def _console(stderr: bool = False):
    from rich.console import Console

    con = Console(highlight=False, stderr=stderr)
    if not con.is_terminal:  # piped or captured: rich assumes 80 columns; tables need more
        con = Console(highlight=False, width=120, stderr=stderr)
    return con


def _show_progress(as_json: bool) -> bool:
    """Progress bars only on a terminal, and never with --json."""
    return not as_json and sys.stderr.isatty()


def _train(args) -> int:
    import vbt

    strategy = vbt.load_strategy(args.strategy)
    symbol = args.symbol or ", ".join(strategy.symbols)
    model_dir = vbt.train(
        strategy, data_dir=args.data_dir, symbol=args.symbol, out_dir=args.out_dir,
        device=args.device, seed=args.seed, epochs=args.epochs,
        progress=_show_progress(args.json), start_date=args.start_date, end_date=args.end_date,
    )  # fmt: skip
    metrics = json.loads((Path(model_dir) / "metrics.json").read_text())
    if args.json:
        print(json.dumps({"model_path": str(model_dir), "training_metrics": metrics}, default=str))
    else:
        con = _console()
        con.print(f"[bold]trained[/] {strategy.name} on {symbol} → {model_dir}")
        con.print(_kept_epoch(metrics))
        shown = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}
        con.print(_kv_table("training", shown))
    return 0


def _kept_epoch(metrics: dict[str, Any]) -> str:
    """Which epoch's weights the model holds, and why training stopped."""
    done = metrics.get("epochs_trained")
    stop = f"stopped early after epoch {done}" if metrics.get("early_stopped") else f"{done} epochs"
    which = "validation" if metrics.get("best_val_loss") is not None else "training"
    return f"{stop}; kept epoch {metrics.get('best_epoch')} (best {which} loss)"


def _backtest(args) -> int:
    import vbt
    from vbt.paths import check_output_dir, check_output_file

    cfg = _config_from_args(args)
    if args.out:
        check_output_dir(args.out, "--out")
    if args.report:
        check_output_file(args.report, "--report", created=args.out)
    cfg = cfg.resolved()  # the data folder and model symbol: checked before torch loads
    _own_process(args)
    result = _run_with_progress(
        vbt.BacktestEngine(cfg), args.json, args.checkpoint, args.resume_from
    )
    if args.out:
        result.save(args.out)
    report = _write_report(result.report, args.report) if args.report else None
    _print_result(result, args.json, saved=args.out, report=report)
    return 0


def _sweep(args) -> int:
    import vbt
    from vbt.metrics import METRIC_NAMES
    from vbt.paths import check_output_dir, check_output_file
    from vbt.summary import format_cell, sweep_columns

    cfg = _config_from_args(args)
    grid = _grid_from_args(args)
    if args.by not in METRIC_NAMES:
        raise vbt.ConfigError(f"--by {args.by!r}: not a metric; metrics: {', '.join(METRIC_NAMES)}")
    if args.out:
        check_output_dir(args.out, "--out")
    if args.checkpoint:
        check_output_file(args.checkpoint, "checkpoint")
    heatmap = _heatmap_axes(args.heatmap)
    if heatmap and not set(heatmap) <= set(grid):  # known before the sweep runs
        raise vbt.ConfigError(f"--heatmap {args.heatmap}: swept: {', '.join(grid)}")
    if args.report:
        check_output_file(args.report, "--report", created=args.out)
    kwargs = dict(
        constraint=args.constraint, max_combos=args.max_combos, seed=args.seed,
        threads=args.threads, checkpoint=args.checkpoint, resume_from=args.resume_from,
        backend=args.backend, ray_address=args.ray_address,
    )  # fmt: skip
    if not _show_progress(args.json):
        result = vbt.sweep(cfg, grid, **kwargs)
    else:
        with _progress_bar("sweep", "combination-bars") as progress:
            result = vbt.sweep(cfg, grid, progress=progress, **kwargs)
    if args.out:
        result.save(args.out)
    report = None
    if args.report:
        report = _write_report(result.report, args.report, by=args.by, params=heatmap, top=args.top)
    if args.json:
        summary = result.summary(args.top, args.by)
        print(json.dumps(summary | ({"report": str(report)} if report else {}), default=str))
        return 0
    con = _console()
    i, t = result.info, result.timings
    con.print(
        f"[bold]{i.strategy}[/] {i.symbol} {i.timeframe} {i.start[:16]} → {i.end[:16]} UTC: "
        f"{result.table.height:,} combinations of {result.settings['grid_size']:,} "
        f"({t['prepare_s']:.2f} s to prepare, {t['sweep_s']:.2f} s to sweep)"
    )
    best = result.best(args.top, args.by)
    shown = ["combo", *sweep_columns(result.grid.names, args.by)]
    from rich.table import Table

    table = Table(title=f"best {best.height} by {args.by}")
    for c in shown:
        table.add_column(c, justify="right", no_wrap=True)
    for row in best.iter_rows(named=True):
        table.add_row(*[format_cell(c, row[c]) for c in shown])
    con.print(table)
    if args.out:
        con.print(f"results saved to {args.out}/ (results.parquet, summary.json)")
    if report:
        con.print(f"report: {report}")
    return 0


def _batch(args) -> int:
    import vbt
    from vbt.paths import check_output_dir

    check_output_dir(args.out, "--out")
    kwargs = dict(jobs=args.jobs, retry_errors=args.retry_errors, backend=args.backend,
                  ray_address=args.ray_address)  # fmt: skip
    if not _show_progress(args.json):
        result = vbt.batch(args.spec, args.out, **kwargs)
    else:
        with _progress_bar("batch", "jobs") as progress:
            result = vbt.batch(args.spec, args.out, progress=progress, **kwargs)
    s = result.summary
    if args.json:
        print(json.dumps(s, default=str))
        return result.exit_status
    from rich.table import Table

    con = _console()
    con.print(
        f"[bold]batch[/] {s['spec']}: {s['jobs']} jobs, {s['ok']} ok, {s['error']} failed "
        f"({s['ran']} run now, {s['skipped']} already done; {s['wall_s']:.2f} s)"
    )
    by = s["rank_by"]
    table = Table(title=f"best {min(args.top, len(s['ranking']))} by {by}")
    cols = ("rank", "index", "name", "symbol", "timeframe", by, "total_return_pct", "total_trades")
    cols = tuple(dict.fromkeys(cols))
    for c in cols:
        table.add_column(c, justify="right", no_wrap=True)
    for row in s["ranking"][: args.top]:
        table.add_row(*[_fmt(row.get(c)) for c in cols])
    con.print(table)
    for e in s["errors"]:
        con.print(f"jobs[{e['index']}] failed: {e['type']}: {e['message']}")
    con.print(f"results in {result.out_dir}/ (results.jsonl, summary.json)")
    return result.exit_status


def _research(args) -> int:
    import yaml

    import vbt
    from vbt.errors import ConfigError
    from vbt.paths import check_output_file

    config: dict[str, Any] = {}
    for item in args.settings:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise ConfigError(f"--set {item!r}: expected NAME=VALUE, e.g. commission=0.0005")
        try:
            config[name.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: {value!r} is not a value") from None
    if args.report:
        check_output_file(args.report, "--report", created=args.out)
    report = vbt.research.run(
        args.strategy, data_dir=args.data_dir, symbol=args.symbol, out_dir=args.out,
        walk_forward=args.walk_forward, purge_bars=args.purge_bars,
        embargo_bars=args.embargo_bars, start_date=args.start_date, end_date=args.end_date,
        seed=args.seed, epochs=args.epochs, simulations=args.simulations, config=config,
        progress=_show_progress(args.json),
    )  # fmt: skip
    d = report.report
    page = _write_report(report.write_report, args.report) if args.report else None
    if args.json:
        print(json.dumps(d | ({"report": str(page)} if page else {}), default=str))
        return 0
    con = _console()
    oos = d["out_of_sample"]
    con.print(
        f"[bold]{d['strategy']}[/] {d['symbol']} {d['timeframe']}: {d['mode'].replace('_', ' ')}, "
        f"out of sample {oos['start'][:16]} → {oos['end'][:16]} UTC ({oos['bars']:,} bars)"
    )
    con.print(f"[bold]verdict: {d['verdict']['verdict']}[/]")
    for reason in d["verdict"]["reasons"]:
        con.print(f"  - {reason}")
    m, bh, st = d["metrics"], d["buy_and_hold"], d["sharpe_statistics"]
    shown = {
        "sharpe_ratio": m.get("sharpe_ratio"), "buy_and_hold sharpe_ratio": bh.get("sharpe_ratio"),
        "total_return_pct": m.get("total_return_pct"),
        "buy_and_hold total_return_pct": bh.get("total_return_pct"),
        "max_drawdown_pct": m.get("max_drawdown_pct"), "total_trades": m.get("total_trades"),
        "random-entry p-value": d["random_entry"].get("p_value"), "PSR(0)": st.get("psr"),
        "DSR": st.get("dsr"), "trials in the ledger": st.get("trials"),
    }  # fmt: skip
    con.print(_kv_table("out of sample", shown))
    con.print(f"report saved to {d['saved']}/ (report.json, equity.parquet, trades.parquet)")
    if page:
        con.print(f"report: {page}")
    return 0


def _schema(args) -> int:
    from vbt.batches.spec import batch_schema

    print(json.dumps(batch_schema(), indent=2))
    return 0


def _demo(args) -> int:
    import vbt
    from vbt.demo import DEMO_SYMBOL, demo_strategy_path, write_demo_data
    from vbt.model.train_config import epochs_override
    from vbt.paths import check_output_dir

    out = check_output_dir(args.out, "--out")
    strategy = vbt.load_strategy(demo_strategy_path())
    if args.epochs is not None:
        epochs_override(args.epochs)  # a bad --epochs: refused before any output
    con = _console()
    if not args.json:
        con.print(
            f"[bold]vbt demo[/]: generate synthetic {DEMO_SYMBOL} bars, train {strategy.name} on "
            "them, then backtest"
        )
    data = write_demo_data(out / "data")
    model_dir = vbt.train(
        strategy, data_dir=data, symbol=DEMO_SYMBOL, out_dir=out / "models", seed=0,
        epochs=args.epochs, progress=_show_progress(args.json),
    )  # fmt: skip
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(data))
    result = _run_with_progress(vbt.BacktestEngine(cfg), args.json, None, None)
    result.save(out / "results")
    report = result.report(out / "results" / "report.html")
    # the report's path is the demo's last line (after the note)
    _print_result(result, args.json, saved=out / "results", report=report if args.json else None)
    if not args.json:
        con.print(
            "note: the demo bars are synthetic (a near-random walk), so the model has little to"
            " learn and costs (commission + slippage on entry and exit) dominate the result."
        )
        con.print(f"report: {report}")
    return 0


def _report_command(args) -> int:
    from vbt.report import write_report

    path = Path(args.out) if args.out else Path(args.result_dir) / "report.html"
    options = {"by": args.by, "params": _heatmap_axes(args.heatmap), "top": args.top}
    written = write_report(args.result_dir, path, **options)
    print(f"report: {written}")
    return 0


def _run_with_progress(engine, as_json: bool, checkpoint, resume_from):
    if not _show_progress(as_json):
        return engine.run(checkpoint=checkpoint, resume_from=resume_from)
    with _progress_bar("backtest", "bars") as progress:
        return engine.run(progress=progress, checkpoint=checkpoint, resume_from=resume_from)


@contextlib.contextmanager
def _progress_bar(label: str, unit: str):
    """A transient rich progress bar on stderr, shown from the first report on (so that an error
    raised before any work prints nothing else); yields progress(done, total)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
        TimeElapsedColumn(), transient=True, console=_console(stderr=True),
    )  # fmt: skip
    task = None

    def progress(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=total)
        bar.update(task, completed=done, total=total)

    try:
        yield progress
    finally:
        if task is not None:
            bar.stop()


def _print_result(result, as_json: bool, saved: Any = None, report: Any = None) -> None:
    """A backtest's summary: the run, the metrics and the signal funnel (rows, names and
    formatting from ``vbt.summary``, as the HTML report), why it made no trade, the first
    trades; or, with ``as_json``, ``result.to_dict()`` (plus ``report``: the report's path)."""
    if as_json:
        print(json.dumps(result.to_dict() | ({"report": str(report)} if report else {}),
                         default=str))  # fmt: skip
        return
    from rich.table import Table

    from vbt.summary import describe_run, funnel_rows, metric_rows, no_trade_reason

    con = _console()
    i = result.info
    run = i.to_dict()
    con.print(
        f"[bold]{describe_run(run)}[/]  ({result.equity.height:,} bars after warm-up, "
        f"{i.execution_time_s:.2f} s)"
    )
    table = Table(title="metrics")
    for name, justify in (("", "left"), ("metric", "left"), ("value", "right")):
        table.add_column(name, justify=justify)
    section = None
    for row in metric_rows(result.metrics):
        table.add_row(row.section if row.section != section else "", row.name, row.text)
        section = row.section
    con.print(table)
    con.print(
        _kv_table("signal funnel", {r.label: r.text for r in funnel_rows(result.metrics, run)})
    )
    reason = no_trade_reason(result.metrics, i.params)
    if reason:
        con.print(reason)
    t = result.trades
    if t.height:
        table = Table(title=f"trades (first 10 of {t.height}; all in trades.parquet)")
        cols = {
            "side": str, "entry_time": _time, "exit_time": _time, "qty": "{:,.0f}".format,
            "entry_price": "{:.5f}".format, "exit_price": "{:.5f}".format,
            "net_pnl": "{:,.2f}".format, "return_pct": "{:.3f}".format, "exit_reason": str,
        }  # fmt: skip
        for c in cols:
            table.add_column(c, justify="right", no_wrap=True)
        for row in t.head(10).iter_rows(named=True):
            table.add_row(*[fmt(row[c]) for c, fmt in cols.items()])
        con.print(table)
    if saved:
        con.print(f"results saved to {saved}/ (metrics.json, trades.parquet, equity.parquet)")
    if report:
        con.print(f"report: {report}")


def _kv_table(title: str, values: dict[str, Any]):
    """A two-column table; values are shown as ``format_value`` writes them (text unchanged)."""
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("name")
    table.add_column("value", justify="right")
    for k, v in values.items():
        table.add_row(k, _fmt(v))
    return table


def _time(t: Any) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def _fmt(v: Any) -> str:
    from vbt.summary import format_value

    return format_value(v)


if __name__ == "__main__":
    script()
