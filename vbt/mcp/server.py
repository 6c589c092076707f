"""``vbt mcp``: vbt's research cycle as Model Context Protocol tools, on the official SDK.

``build(workspace)`` returns the server (an ``mcp`` ``MCPServer``) with its tools, resources and
prompt; ``serve(...)`` runs it over stdio (default) or streamable HTTP. Every tool answers JSON;
a bad argument or input is one line naming the argument or the strategy's key (the SDK's
prefix ``Error executing tool <name>:`` first). Long tools report progress notifications and stop
when the client cancels the call: ``backtest`` and ``sweep`` at their next chunk, ``train``,
``research`` and ``batch`` (each in a process of its own) at once, the process killed and what it
had begun to write removed.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import json
import logging
import math
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError

from vbt import __version__
from vbt.errors import ConfigError, VbtError
from vbt.mcp import catalog, runs, strategies
from vbt.mcp.workspace import PARTIAL_DIR, Workspace

#: the environment variable holding the bearer token of the HTTP transport
TOKEN_ENV = "VBT_MCP_TOKEN"
#: seconds between progress notifications of a run in its own process
HEARTBEAT_S = 2.0
#: backtests and sweeps running at once in the server's process (more calls wait their turn)
RUNS_AT_ONCE = 2

INSTRUCTIONS = """vbt backtests, sweeps and researches PyTorch trading strategies (ktrdr v3 YAML).
Everything lives in one workspace: strategies/, models/, runs/, trials.jsonl (the trial ledger).
Judge a strategy only by `research` (out of sample, with baselines and the deflated Sharpe
ratio); every backtest, sweep combination and research run is a trial the DSR counts."""

RESEARCH_CYCLE = """You are researching trading strategies with vbt. Work in this loop:

1. Design: read `list_indicators`, `list_data` and `example_strategies`; write one strategy.
2. Validate: `validate_strategy` and fix every problem (each names its key, line and column);
   then `save_strategy`.
3. Research: `research` the saved strategy (held-out test, or walk_forward=K folds). It trains on
   the training split only and judges on bars the model never saw.
4. Read the verdict: its reasons, the out-of-sample metrics, the baselines (buy and hold, random
   entries) and the deflated Sharpe ratio.
5. Change one thing (an indicator, a parameter, a label), save it under a new name, research it
   again, and `compare_runs`.

Rules that keep the result honest:
- Never tune on the test split: do not backtest the test period to choose settings, and do not
  pick a strategy by its in-sample metrics.
- Every trial counts. Each backtest, each sweep combination and each research run is recorded
  in the workspace's ledger (`ledger`), and the deflated Sharpe ratio of the next verdict is
  deflated by all of them: more tries need a stronger result.
- A verdict of "not better than chance" is an answer, not a failure; say so and stop, or change
  the idea, not the threshold.
"""


class VbtServer(MCPServer):
    """``MCPServer`` whose argument errors are one line naming the argument."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None):
        tool = self._tool_manager.get_tool(name)
        if tool is not None:  # an unknown argument is a mistake, not something to drop
            known = tool.parameters.get("properties", {})
            unknown = [k for k in arguments if k not in known]
            if unknown:
                raise ToolError(f"Error executing tool {name}: {unknown[0]!r:.80}: not an "
                                f"argument; arguments: {', '.join(known) or 'none'}")  # fmt: skip
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(f"Error executing tool {name}: {one_line(cause)}") from None
            raise


def one_line(exc: ValidationError) -> str:
    """The first problem of a tool's arguments: ``<argument>: <why>`` (and how many more)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "arguments"
    shown = first.get("input")
    value = "" if first["type"] == "missing" or isinstance(shown, dict) else f" = {shown!r:.80}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}{value}: {first['msg'][0].lower()}{first['msg'][1:]}{more}"


def _answer(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(...)``, a ``VbtError`` turned into the tool's one-line error."""
    try:
        return fn(*args, **kwargs)
    except VbtError as exc:
        raise ToolError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


def _jsonable(value: Any) -> Any:
    """``value`` as JSON can carry it: paths and other objects as text, NaN and ±inf as null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "item"):  # a NumPy scalar
        return _jsonable(value.item())
    return str(value)


# -- long runs ---------------------------------------------------------------------------------


def _progress(ctx: Context, kind: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` for a run in a worker thread: a notification at most every
    0.25 s (and at the end)."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.25 and done < total:
            return
        last[0] = now
        try:
            anyio.from_thread.run(ctx.report_progress, float(done), float(total),
                                  f"{kind}: {done:,} of {total:,}")  # fmt: skip
        except Exception:  # the call was cancelled meanwhile: nobody is listening
            pass

    return report


_limiter: list[anyio.CapacityLimiter] = []  # created in the server's event loop, on first use


async def _in_thread(ctx: Context, kind: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """``fn(progress=..., cancel=..., **kwargs)`` in a worker thread, at most
    ``RUNS_AT_ONCE`` at a time (a burst of calls waits rather than holding every run's bars in
    memory at once); a cancelled call sets the cancel event (the run stops at its next chunk
    and writes nothing)."""
    if not _limiter:
        _limiter.append(anyio.CapacityLimiter(RUNS_AT_ONCE))
    cancel = threading.Event()
    call = functools.partial(_answer, fn, progress=_progress(ctx, kind), cancel=cancel, **kwargs)
    try:
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True, limiter=_limiter[0])
    except anyio.get_cancelled_exc_class():
        cancel.set()
        raise


def child_main(conn: Any, name: str, root: str, data_dir: str | None, kwargs: dict,
               parent: tuple[int, int | None]) -> None:  # fmt: skip
    """Entry point of a run's own process: ``runs.<name>(workspace, **kwargs)``; sends
    ``("ok", result)``, ``("error", message)`` or ``("crash", message)``."""
    from vbt.worker.child import die_with

    die_with(*parent)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the server's protocol stream
    ws = Workspace(root, data_dir)
    try:
        outcome: tuple = ("ok", _jsonable(getattr(runs, name)(ws, **kwargs)))
    except VbtError as exc:
        outcome = ("error", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except Exception as exc:  # a bug: the server logs it
        outcome = ("crash", f"{type(exc).__name__}: {exc}")
    conn.send(outcome)
    conn.close()


#: run ids of the runs made in the server's own process (published whole, never removed)
_IN_PROCESS_RUNS = ("backtest-", "sweep-", "batch-")


def _created(ws: Workspace) -> set[Path]:
    """What a train or research run may create: the research runs in runs/, and the model
    folders (two levels under models/). Backtests and sweeps, which run meanwhile, are left out:
    they are moved into runs/ whole, and never removed."""
    found = {p for p in ws.runs.iterdir() if not p.name.startswith(_IN_PROCESS_RUNS)}
    found |= set(ws.models.iterdir())
    found |= {p for d in ws.models.iterdir() if d.is_dir() for p in d.iterdir()}
    return found


def _remove(paths: set[Path]) -> None:
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


class LongRuns:
    """Runs ``train``, ``research`` and ``batch`` one at a time, each in a process of its own."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.lock = anyio.Lock()
        self.mp = multiprocessing.get_context("spawn")

    async def run(self, ctx: Context, name: str, **kwargs: Any) -> Any:
        from vbt.worker.procs import process_start_time

        async with self.lock:
            before = _created(self.ws)
            recv, send = self.mp.Pipe(duplex=False)
            me = os.getpid()
            proc = self.mp.Process(
                target=child_main, name=f"vbt-mcp-{name}",
                args=(send, name, str(self.ws.root), _text(self.ws.data_dir), kwargs,
                      (me, process_start_time(me))),
            )  # fmt: skip
            t0 = time.monotonic()
            proc.start()
            send.close()
            try:
                while True:
                    ready = await anyio.to_thread.run_sync(recv.poll, HEARTBEAT_S,
                                                           abandon_on_cancel=True)  # fmt: skip
                    if ready:
                        outcome = recv.recv()
                        break
                    if not proc.is_alive():
                        outcome = ("crash", f"its process ended with code {proc.exitcode}")
                        break
                    elapsed = time.monotonic() - t0
                    await ctx.report_progress(elapsed, None, f"{name}: {elapsed:.0f} s")
            except BaseException:  # cancelled: stop it and remove what it began to write
                proc.kill()
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(proc.join, 10)
                    await anyio.to_thread.run_sync(_remove, _created(self.ws) - before)
                raise
            finally:
                recv.close()
            await anyio.to_thread.run_sync(proc.join, 10)
            if proc.is_alive():  # answered but did not exit: it may hold nothing more of ours
                proc.kill()
        tag, value = outcome
        if tag == "ok":
            return value
        if tag == "error":
            raise ToolError(value)
        logging.getLogger(__name__).error("%s failed: %s", name, value)
        raise ToolError(f"internal error in {name} ({value:.200}); the server's log has it")


def _text(path: Path | None) -> str | None:
    return str(path) if path is not None else None


# -- the server --------------------------------------------------------------------------------

Model = Annotated[str, Field(description="a model folder in the workspace, e.g. "
                             "models/my_strategy/1h_v1 (train and research give it)")]  # fmt: skip
Config = Annotated[dict[str, Any] | None, Field(
    description="run settings (BacktestConfig fields): costs (commission, slippage), sizing, "
    "decisions (confidence_threshold, min_signal_separation, ...), risk exits (stop_loss, "
    "take_profit, max_holding_bars), symbol, timeframe, start_date, end_date")]  # fmt: skip
Strategy = Annotated[str, Field(description="a strategy file in the workspace, e.g. "
                                "strategies/my_strategy.yaml (save_strategy gives it)")]  # fmt: skip
RunId = Annotated[str, Field(description="a run id (the runs' tools and list_runs give them)")]


def build(ws: Workspace) -> MCPServer:
    """The server of workspace ``ws``: its tools, resources and the ``research_cycle`` prompt."""
    server = VbtServer(name="vbt", version=__version__, instructions=INSTRUCTIONS,
                       log_level="WARNING")  # fmt: skip
    long_runs = LongRuns(ws)
    scratch = ws.root / PARTIAL_DIR / str(os.getpid())

    def scratch_file() -> Path:
        scratch.mkdir(parents=True, exist_ok=True)
        return scratch / f"strategy-{time.monotonic_ns()}.yaml"

    # -- what an agent reads first
    @server.tool(description="Every indicator type: parameters (type, default, range or "
                 "choices), outputs, and whether it may be a model input.")  # fmt: skip
    def list_indicators() -> dict[str, Any]:
        return {"indicators": catalog.list_indicators()}

    @server.tool(description="The bar files in the data folder: symbol, timeframe, bars, first "
                 "and last timestamp.")  # fmt: skip
    def list_data() -> dict[str, Any]:
        return _jsonable(_answer(catalog.list_data, ws.data_dir))

    @server.tool(description="The JSON Schema of a v3 strategy file (indicator parameters: "
                 "list_indicators).")  # fmt: skip
    def strategy_schema() -> dict[str, Any]:
        return catalog.strategy_schema()

    @server.tool(description="Strategy files to start from (name and YAML text).")
    def example_strategies() -> dict[str, Any]:
        return {"strategies": catalog.example_strategies(ws.data_dir)}

    # -- strategies
    @server.tool(description="Check a strategy's YAML text as training would: every problem "
                 "with its dotted key, line and column; the model's input features when valid.")  # fmt: skip
    def validate_strategy(
        yaml: Annotated[str, Field(description="the strategy's YAML text")],
    ) -> dict[str, Any]:
        return _answer(strategies.validate, yaml, scratch_file())

    @server.tool(description="Validate a strategy and save it as strategies/<name>.yaml "
                 "(nothing is saved when it has problems).")  # fmt: skip
    def save_strategy(
        yaml: Annotated[str, Field(description="the strategy's YAML text")],
        name: Annotated[
            str | None, Field(description="file name without .yaml (default: the strategy's name)")
        ] = None,  # fmt: skip
    ) -> dict[str, Any]:
        out = _answer(strategies.save, yaml, name, ws.strategies, scratch_file())
        return {**out, "saved": ws.relative(out["saved"]) if out["saved"] else None}

    # -- runs
    @server.tool(description="Train a saved strategy on the training split; returns the model "
                 "folder. Long: reports progress; cancel stops it and keeps nothing.")  # fmt: skip
    async def train(
        ctx: Context,
        strategy: Strategy,
        symbol: Annotated[str | None, Field(description="default: the strategy's")] = None,
        epochs: Annotated[int | None, Field(description="default: the strategy's")] = None,
        seed: Annotated[int, Field(description="training seed")] = 0,
    ) -> dict[str, Any]:
        _answer(ws.inside, strategy, "strategy")
        return await long_runs.run(ctx, "train", strategy=strategy, symbol=symbol,
                                   epochs=epochs, seed=seed)  # fmt: skip

    @server.tool(description="Backtest a model (next-open fills, costs, risk exits): run id, "
                 "metrics, signal funnel. One trial in the ledger.")  # fmt: skip
    async def backtest(ctx: Context, model: Model, config: Config = None) -> dict[str, Any]:
        out = await _in_thread(ctx, "backtest", runs.backtest, ws=ws, model=model, config=config)
        return _jsonable(out)

    @server.tool(description="Sweep run settings over one inference of a model: run id and the "
                 "best combinations. Every combination is a trial in the ledger.")  # fmt: skip
    async def sweep(
        ctx: Context,
        model: Model,
        grid: Annotated[
            dict[str, Any],
            Field(
                description="{parameter: [values] or "
                "'start:stop:step'}, e.g. {'confidence_threshold': '0.5:0.9:0.1'}"
            ),
        ],
        config: Config = None,
        constraint: Annotated[
            str | None, Field(description="e.g. 'slippage <= commission'")
        ] = None,
        max_combos: Annotated[int | None, Field(description="a seeded random subset")] = None,
        seed: int = 0,
        top: Annotated[int, Field(description="best rows returned")] = 10,
        by: Annotated[str, Field(description="the metric ranked by")] = "sharpe_ratio",
    ) -> dict[str, Any]:
        out = await _in_thread(ctx, "sweep", runs.sweep, ws=ws, model=model, grid=grid,
                               config=config, constraint=constraint, max_combos=max_combos,
                               seed=seed, top=top, by=by)  # fmt: skip
        return _jsonable(out)

    @server.tool(description="Research a saved strategy out of sample: train on the training "
                 "split, backtest bars the model never saw (held-out test, or walk_forward K "
                 "folds), compare with baselines, deflate the Sharpe ratio by every trial in "
                 "the ledger; returns the verdict and its reasons. Long: progress; cancellable.")  # fmt: skip
    async def research(
        ctx: Context,
        strategy: Strategy,
        walk_forward: Annotated[
            int | None, Field(description="K folds (default: one held-out split)")
        ] = None,  # fmt: skip
        symbol: Annotated[str | None, Field(description="default: the strategy's")] = None,
        epochs: Annotated[int | None, Field(description="default: the strategy's")] = None,
        seed: int = 0,
        simulations: Annotated[int, Field(description="random-entry runs")] = 1000,
        config: Config = None,
    ) -> dict[str, Any]:
        _answer(ws.inside, strategy, "strategy")
        return await long_runs.run(ctx, "research", strategy=strategy, walk_forward=walk_forward,
                                   symbol=symbol, epochs=epochs, seed=seed,
                                   simulations=simulations, config=config)  # fmt: skip

    @server.tool(description="Run a batch spec (many backtests and sweeps sharing bars and "
                 "inference) into runs/<run_id>/; its trials join the ledger.")  # fmt: skip
    async def batch(
        ctx: Context,
        spec: Annotated[str, Field(description="a batch spec file in the workspace")],
    ) -> dict[str, Any]:
        rooted = _answer(runs.rooted_spec, ws, spec)
        run_id = ws.new_run_id("batch")
        part = ws.partial(run_id)
        try:
            out = await long_runs.run(ctx, "batch", spec=rooted, out=part)

            def finish() -> Path:
                _answer(runs.merge_ledger, ws, part)
                return ws.publish(part, run_id)

            final = await anyio.to_thread.run_sync(finish)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(ws.discard, part)
            raise
        return {"run_id": run_id, "path": ws.relative(final), **out}

    # -- reading runs
    @server.tool(description="A run: a backtest's metrics, funnel and a page of trades; a "
                 "sweep's summary and rows; a research run's verdict, reasons and statistics.")  # fmt: skip
    def get_run(run_id: RunId, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        return _jsonable(_answer(runs.get_run, ws, run_id=run_id, offset=offset, limit=limit))

    @server.tool(description="The workspace's runs, newest first or best first by a metric.")
    def list_runs(
        kind: Annotated[
            str | None, Field(description="backtest, sweep, research or batch")
        ] = None,  # fmt: skip
        sort_by: Annotated[str | None, Field(description="a metric, e.g. sharpe_ratio")] = None,
        limit: int = 20,
    ) -> dict[str, Any]:
        return _jsonable(_answer(runs.list_runs, ws, kind=kind, sort_by=sort_by, limit=limit))

    @server.tool(description="Metrics of several runs side by side, and the best at each.")
    def compare_runs(
        run_ids: Annotated[list[str], Field(description="2 to 50 run ids")],
        metrics: Annotated[
            list[str] | None, Field(description="metric names (default: the headline ones)")
        ] = None,  # fmt: skip
    ) -> dict[str, Any]:
        return _jsonable(_answer(runs.compare_runs, ws, run_ids=run_ids, metrics=metrics))

    @server.tool(description="Write a run's HTML report (one self-contained file); its path.")
    def report(run_id: RunId) -> dict[str, Any]:
        return _answer(runs.report, ws, run_id=run_id)

    @server.tool(description="The trial ledger: trials so far (the deflated Sharpe ratio's N), "
                 "and the mean and variance of their Sharpe ratios.")  # fmt: skip
    def ledger() -> dict[str, Any]:
        return _jsonable(_answer(runs.ledger, ws))

    # -- resources and the prompt
    @server.resource("vbt://strategy-schema", mime_type="application/json",
                     description="The JSON Schema of a v3 strategy file.")  # fmt: skip
    def schema_resource() -> str:
        return json.dumps(catalog.strategy_schema())

    @server.resource("vbt://indicators", mime_type="application/json",
                     description="Every indicator type, its parameters and outputs.")  # fmt: skip
    def indicators_resource() -> str:
        return json.dumps(catalog.list_indicators())

    @server.prompt(description="The research loop and the rules that keep it honest.")
    def research_cycle() -> str:
        return RESEARCH_CYCLE

    return server


def check_http(address: str, token: str | None) -> tuple[str, int]:
    """``HOST:PORT`` of ``--http``; a host that is not loopback needs a token."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise ConfigError(f"--http {address!r}: expected HOST:PORT, e.g. 127.0.0.1:8765")
    try:
        loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not token:
        raise ConfigError(f"--http {address}: not a loopback address; set {TOKEN_ENV} (a bearer "
                          "token clients must send) to serve other machines")  # fmt: skip
    return host, int(port)


def _with_token(app: Any, token: str) -> Any:
    """The ASGI app, answering 401 to an HTTP request without ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode()

    async def guarded(scope, receive, send):
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, expected):
                body = b'{"error": "missing or wrong bearer token"}'
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json")]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


def serve(*, workspace: str | Path, data_dir: str | Path | None = None,
          http: str | None = None) -> None:  # fmt: skip
    """Serve the workspace over stdio, or over streamable HTTP at ``http`` (``HOST:PORT``; the
    endpoint is ``/mcp``)."""
    from vbt.config import resolve_data_dir

    # the SDK's log (a tool that crashed) goes to stderr as it happens, never to stdout (the
    # protocol's stream in stdio mode), whatever handlers the command line had set
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, force=True,
                        format="vbt mcp: %(levelname)s %(name)s: %(message)s")  # fmt: skip
    token = os.environ.get(TOKEN_ENV) or None
    address = check_http(http, token) if http else None
    data = resolve_data_dir(data_dir) if data_dir or os.environ.get("VBT_DATA_DIR") else None
    ws = Workspace(workspace, data)
    ws.clear_partial()
    server = build(ws)
    if address is None:
        server.run("stdio")
        return
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings

    host, port = address
    security = TransportSecuritySettings(enable_dns_rebinding_protection=not token,
                                         allowed_hosts=[f"{host}:{port}", f"localhost:{port}",
                                                        f"127.0.0.1:{port}"])  # fmt: skip
    app = server.streamable_http_app(transport_security=security, host=host)
    if token:
        app = _with_token(app, token)
    uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning")


__all__ = ["INSTRUCTIONS", "RESEARCH_CYCLE", "TOKEN_ENV", "build", "check_http", "serve"]
