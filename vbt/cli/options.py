"""The command line's parser: every command's options, and the option groups that several
commands share, with what turns them into values.

- ``parser()``: the ``vbt`` parser, a subcommand per module of ``vbt.cli.commands`` (``main``
  runs the one that ``args.command`` names); a bad command line raises ``UsageError`` (one line);
- a run's options (data, costs, decisions, risk exits, chunking): ``add_run_options`` gives one
  flag per field of ``RUN_FIELDS``, grouped as the models declare them, and ``config_from_args``
  turns those given into a ``BacktestConfig``. Their defaults are not restated here: an option
  left out is not passed, so the pydantic models' defaults apply, and the help texts read those
  defaults from the models' fields;
- the other shared options: ``--data-dir``, ``--json``, ``--report`` (``write_report``),
  ``--heatmap`` (``heatmap_axes``), ``--backend`` and ``--ray-address``.

Every module imported here is one that building the parser needs; none imports torch.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vbt import __version__
from vbt.config import SUBJECT_FIELDS, BacktestConfig, help_text
from vbt.errors import ConfigError
from vbt.model.train_config import DEFAULT_EPOCHS
from vbt.model.trainer import train
from vbt.params import DECISION_OVERRIDES, EXECUTION_FIELDS, RISK_FIELDS, value_type
from vbt.research.cycle import RESEARCH_CONFIG_FIELDS, research
from vbt.results.batch import EXIT_JOBS_FAILED
from vbt.sweeps import sweep
from vbt.sweeps.grid import SWEEPABLE
from vbt.worker.settings import BACKEND_URL_ENV, HEALTH_CHECK_TIMEOUT_S, PUBLIC_URL_ENV


class UsageError(Exception):
    """A bad command line (argparse's complaint, as one line)."""


class Parser(argparse.ArgumentParser):
    """argparse prints usage and the message over several lines and exits; here the message
    becomes one ``error:`` line (``main`` prints it)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    """The ``vbt`` parser; its subcommands in the order of ``vbt --help``."""
    p = Parser(prog="vbt", description="Vectorized backtests of PyTorch trading models.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command")
    for add in (_add_demo, _add_backtest, _add_sweep, _add_report_command, _add_train,
                _add_batch, _add_research, _add_schema, _add_worker, _add_mcp):  # fmt: skip
        add(sub)
    return p


def rows(text: str) -> int:
    """``--top``: a count of rows, a whole number of at least 1 (argparse names the flag)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} rows: give at least 1")
    return value


def subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


# ---------------------------------------------------------------------------------------------
# the commands' options


def _add_demo(sub) -> None:
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
    add_json(d)


def _add_backtest(sub) -> None:
    b = sub.add_parser(
        "backtest", help="backtest a v3 model directory",
        description="Backtest a v3 model directory on the bars in a data folder.",
    )  # fmt: skip
    b.add_argument("model_path", help="a v3 model directory (or its <tf>_latest pointer)")
    add_run_options(b)
    b.add_argument(
        "--out",
        help="save metrics.json, trades.parquet and equity.parquet in this folder "
        "(default: not saved)",
    )
    add_report(b)
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
    add_json(b)


def _add_sweep(sub) -> None:
    default = _defaults(sweep)
    w = sub.add_parser(
        "sweep",
        help="backtest many decision, cost and sizing combinations over one inference",
        description="Sweep parameters that act after the model (decision filters, regression "
        "threshold, sizing, costs) over one inference. Sweepable: " + ", ".join(SWEEPABLE),
    )
    w.add_argument("model_path", help="a v3 model directory (or its <tf>_latest pointer)")
    add_run_options(w)
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
        "--seed", type=int, default=default["seed"],
        help="seed of the --max-combos draw (default: %(default)s)",
    )  # fmt: skip
    w.add_argument("--threads", type=int, help="Numba threads (default: the usable cores)")
    add_backend(w, "combinations")
    w.add_argument("--by", default="sharpe_ratio", help="metric to rank by (default: %(default)s)")
    w.add_argument("--top", type=rows, default=10, help="rows to show (default: %(default)s)")
    w.add_argument(
        "--out", help="save results.parquet and summary.json in this folder (default: not saved)"
    )
    add_report(w, sweep=True)
    w.add_argument(
        "--checkpoint",
        help="checkpoint file, rewritten at each chunk boundary; its folder must exist "
        "(default: none)",
    )
    w.add_argument(
        "--resume-from",
        help="resume from this checkpoint file (default: start at the first combination)",
    )
    add_json(w)


def _add_report_command(sub) -> None:
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
    r.add_argument("--top", type=rows, help="sweep: rows in the table of best rows (default: 10)")
    add_heatmap(r)


def _add_train(sub) -> None:
    default = _defaults(train)
    t = sub.add_parser(
        "train", help="train a v3 strategy into a model directory",
        description="Train a v3 strategy's network on the bars in a data folder and write a "
        "v3 model directory <out-dir>/<strategy>/<tf>_v<N>/.",
    )  # fmt: skip
    t.add_argument("strategy", help="the v3 strategy YAML file")
    add_data_dir(t)
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
        "--device", default=default["device"],
        help="torch device: cpu, cuda, cuda:N or mps (default: %(default)s)",
    )  # fmt: skip
    t.add_argument(
        "--seed", type=int, default=default["seed"],
        help="seed of weight init, dropout and batch order, in [0, 2**64 - 1] "
        "(default: %(default)s)",
    )  # fmt: skip
    t.add_argument(
        "--epochs", type=int,
        help=f"at most this many epochs (default: the strategy's training.epochs, else "
        f"{DEFAULT_EPOCHS})",
    )  # fmt: skip
    add_json(t)


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
    b.add_argument(
        "--top", type=rows, default=10, help="ranked rows to show (default: %(default)s)"
    )
    add_backend(b, "jobs")
    add_json(b)


def _add_research(sub) -> None:
    default = _defaults(research)
    r = sub.add_parser(
        "research", help="train a strategy, backtest it out of sample and judge it against chance",
        description="Validate a v3 strategy, train it, backtest it only on bars that training and "
        "early stopping never saw (the held-out test split, or K walk-forward folds), and "
        "assess it: buy-and-hold and random entries over the same bars, the probabilistic and "
        "deflated Sharpe ratios (trials counted in the output folder's ledger), and a verdict: "
        "promising, inconclusive or not better than chance.",
    )  # fmt: skip
    r.add_argument("strategy", help="the v3 strategy YAML file")
    add_data_dir(r)
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
    add_report(r)
    add_json(r)


def _add_schema(sub) -> None:
    s = sub.add_parser(
        "schema", help="print the JSON Schema of a file vbt reads",
        description="Print a JSON Schema: `batch` (the spec of `vbt batch`).",
    )  # fmt: skip
    s.add_argument("what", choices=["batch"], help="which schema")


def _add_worker(sub) -> None:
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


def _add_mcp(sub) -> None:
    """``vbt mcp``: the Model Context Protocol server (vbt.mcp)."""
    m = sub.add_parser(
        "mcp", help="serve vbt's tools to an agent (Model Context Protocol)",
        description="A Model Context Protocol server: an agent designs, validates, trains, "
        "backtests, sweeps and researches strategies through its tools, inside one workspace "
        "(strategies/, models/, runs/, trials.jsonl). stdio by default; --http serves "
        "streamable HTTP at /mcp, on loopback unless VBT_MCP_TOKEN holds a bearer token.",
    )  # fmt: skip
    m.add_argument("--workspace", required=True,
                   help="the folder everything is read from and written to, created if missing "
                   "(default: none; required)")  # fmt: skip
    add_data_dir(m)
    m.add_argument("--http", metavar="HOST:PORT",
                   help="serve streamable HTTP at /mcp, e.g. 127.0.0.1:8765 (default: stdio)")  # fmt: skip


def _defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    """The default of each parameter of ``fn`` (the API's defaults are the flags' defaults)."""
    return {k: v.default for k, v in inspect.signature(fn).parameters.items()}


# ---------------------------------------------------------------------------------------------
# shared options


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true",
        help="print machine-readable JSON instead of tables (default: tables)",
    )  # fmt: skip


def add_backend(p: argparse.ArgumentParser, what: str) -> None:
    """--backend and --ray-address (README "Scale-out")."""
    p.add_argument("--backend", choices=("local", "ray"), default="local",
                   help=f"where the {what} run: this machine, or a Ray cluster (needs the "
                   "vbt[ray] extra) (default: %(default)s)")  # fmt: skip
    p.add_argument("--ray-address", help="the Ray cluster, e.g. ray://head:10001 or auto "
                   "(default: a local one)")  # fmt: skip


def add_report(parser: argparse.ArgumentParser, sweep: bool = False) -> None:
    what = "the sweep (ranked --by)" if sweep else "the run"
    parser.add_argument(
        "--report", metavar="FILE",
        help=f"write the HTML report of {what} to this file; its folder must exist, or be "
        "--out or lie inside it (default: none)",
    )  # fmt: skip
    if sweep:
        add_heatmap(parser)


def write_report(write: Any, path: str, **options: Any) -> Path:
    """``write(path, **options)`` (a result's report method) once the run has succeeded, first
    creating its missing folders (checked before the run: they lie inside --out)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write(path, **options)


def add_heatmap(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--heatmap", metavar="X,Y",
        help="sweep report: the two swept parameters of the heatmap (default: the first two "
        "that vary)",
    )  # fmt: skip


def heatmap_axes(value: str | None) -> tuple[str, str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",")]
    if len(names) != 2 or not all(names):
        raise ConfigError(f"--heatmap {value!r}: expected two swept parameters, X,Y")
    return names[0], names[1]


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help=help_text("data_dir"))


def _run_option_groups() -> list[tuple[str, tuple[str, ...]]]:
    """The run's flags by help group, from the models (no field is listed here): the data,
    then the run settings as ``vbt.params`` declares them, then BacktestConfig's other fields.
    model_path is an argument; timeframes has no flag."""
    settings = (*SUBJECT_FIELDS, *DECISION_OVERRIDES, *EXECUTION_FIELDS)
    return [
        ("data", tuple(k for k in SUBJECT_FIELDS if k not in ("model_path", "timeframes"))),
        ("capital and costs", tuple(k for k in EXECUTION_FIELDS if k not in RISK_FIELDS)),
        ("decisions (override the model's config.json)", DECISION_OVERRIDES),
        ("risk exits (README: Risk exits)", RISK_FIELDS),
        ("run", tuple(k for k in BacktestConfig.model_fields if k not in settings)),
    ]


# BacktestConfig fields set by add_run_options, in the order of the help.
RUN_FIELDS = tuple(k for _title, names in _run_option_groups() for k in names)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run (data, costs, decisions, annualisation, chunking): one flag per
    field of ``RUN_FIELDS``, ``--field-name``, default None (= the field's default applies;
    the help, the field's description, says which). ``config_from_args`` turns them into a
    ``BacktestConfig``."""
    add_data_dir(parser)
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


def config_from_args(args: argparse.Namespace, **fields: Any) -> BacktestConfig:
    """A ``BacktestConfig`` from the options of ``add_run_options`` (those given), the
    ``model_path`` argument (when the command has one) and ``fields``; bad values raise
    ``ConfigError`` naming the field."""
    names = (*RUN_FIELDS, "model_path")
    given = {k: getattr(args, k) for k in names if getattr(args, k, None) is not None}
    return BacktestConfig(**{**given, **fields})
