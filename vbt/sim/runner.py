"""Chunked driver of the scan: progress, cancellation, atomic checkpoints and exact resume.

``run_scan`` calls ``scan_chunk_nb`` on consecutive chunks of bars. Between chunks it reports
progress, honours cancellation and writes checkpoints; everything the scan needs is in the state
record, so a run resumed from any checkpoint (in any process) is bit-identical to one pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vbt.arrays import kernel_input
from vbt.atomic import atomic_write
from vbt.data.timeframe import HOUR_NS
from vbt.errors import CancelledError, ConfigError, DataError
from vbt.params import RISK_FIELDS, DecisionParams, ExecutionParams
from vbt.sim.nb import scan_chunk_nb
from vbt.sim.records import (
    ACC_DTYPE,
    PARAMS_DTYPE,
    STATE_DTYPE,
    TRADE_DTYPE,
    new_acc,
    new_state,
    params_records,
)

CHECKPOINT_VERSION = 2

#: progress(done, total): called at chunk boundaries.
ProgressFn = Callable[[int, int], Any]


@dataclass(frozen=True)
class ScanInputs:
    """Per-bar inputs of the scan, length n each, C-contiguous.

    ts_ns int64 (bar open stamps, ns since epoch UTC, strictly increasing); open / close float64
    (finite, > 0); raw int8 (BUY=1 / HOLD=0 / SELL=-1) and confidence float32: the signal of a
    classification model; value float32: the predicted return of a regression model (NaN where
    the bar had no valid input; None: all NaN), to which the scan applies the threshold rule;
    high / low float64: the bars' extremes, which the risk exits read (None: none given, and a run
    with risk exits is refused).
    Arrays are converted to these dtypes when that loses nothing; anything else raises
    ``DataError`` naming the field. They are kept as read-only views: the scan never writes its
    inputs, and one compiled kernel (``python -m vbt.warmup`` caches it) serves every caller,
    whether it passed writable arrays or read-only ones such as polars' zero-copy columns.
    """

    ts_ns: np.ndarray
    open: np.ndarray
    close: np.ndarray
    raw: np.ndarray
    confidence: np.ndarray
    value: np.ndarray | None = None
    high: np.ndarray | None = None
    low: np.ndarray | None = None

    def __post_init__(self) -> None:
        ts = np.asarray(self.ts_ns)
        if np.issubdtype(ts.dtype, np.datetime64):
            ts = ts.astype("datetime64[ns]").view(np.int64)
        arrays = {
            "ts_ns": _as(ts, np.int64, "ts_ns", integer=True),
            "open": _as(self.open, np.float64, "open"),
            "close": _as(self.close, np.float64, "close"),
            "raw": _as(self.raw, np.int8, "raw", integer=True),
            "confidence": _as(self.confidence, np.float32, "confidence"),
            "value": _as(
                np.full(ts.shape[:1], np.nan, np.float32) if self.value is None else self.value,
                np.float32,
                "value",
            ),
        }
        if (self.high is None) != (self.low is None):
            raise DataError("ScanInputs: give both high and low, or neither")
        for name in ("high", "low"):
            given = getattr(self, name)
            arrays[name] = np.empty(0) if given is None else _as(given, np.float64, name)
        n = arrays["ts_ns"].shape[0]
        for name, a in arrays.items():
            if a.shape != (n,) and not (name in ("high", "low") and a.size == 0):
                raise DataError(f"ScanInputs.{name}: shape {a.shape}, expected ({n},)")
            object.__setattr__(self, name, kernel_input(a))
        if n > 1 and not bool(np.all(np.diff(self.ts_ns) > 0)):
            k = int(np.argmin(np.diff(self.ts_ns) > 0)) + 1
            raise DataError(f"ScanInputs.ts_ns: not strictly increasing at bar {k}")
        for name in ("open", "close", "high", "low"):
            a = getattr(self, name)
            bad = ~(np.isfinite(a) & (a > 0))
            if bad.any():
                raise DataError(
                    f"ScanInputs.{name}: bad price {a[bad.argmax()]!r} at bar {bad.argmax()}"
                )
        bad = (self.raw < -1) | (self.raw > 1)
        if bad.any():
            raise DataError(
                f"ScanInputs.raw: {self.raw[bad.argmax()]} at bar {bad.argmax()} is not -1/0/1"
            )

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])

    @property
    def has_extremes(self) -> bool:
        """Whether high and low were given (the risk exits need them)."""
        return self.high.shape[0] == self.ts_ns.shape[0]


def _as(a: Any, dtype: type, name: str, integer: bool = False) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise DataError(f"ScanInputs.{name}: expected a 1-D array, got shape {a.shape}")
    if integer and not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        raise DataError(f"ScanInputs.{name}: expected integers, got dtype {a.dtype}")
    if not integer and not (
        np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)
    ):
        raise DataError(f"ScanInputs.{name}: expected numbers, got dtype {a.dtype}")
    out = np.ascontiguousarray(a, dtype=dtype)
    if integer and out.dtype != a.dtype and not np.array_equal(out, a):
        raise DataError(f"ScanInputs.{name}: values do not fit {np.dtype(dtype)}")
    return out


@dataclass(frozen=True)
class ScanParams:
    """Everything the scan needs besides its inputs: the decision parameters, the execution
    parameters and the bar duration (ns; gives the force-close exit time).

    ``ScanParams()`` holds every default; ``with_values(**values)`` replaces parameters by their
    flat names (any field of ``DecisionParams`` or ``ExecutionParams``, or ``bar_ns``), validated.
    """

    decisions: DecisionParams = field(default_factory=DecisionParams)
    execution: ExecutionParams = field(default_factory=ExecutionParams)
    bar_ns: int = HOUR_NS

    def __post_init__(self) -> None:
        if not (isinstance(self.bar_ns, int | np.integer) and 0 < self.bar_ns < 2**62):
            raise ConfigError(f"ScanParams.bar_ns = {self.bar_ns!r}: must be an integer > 0 (ns)")

    def with_values(self, **values: Any) -> ScanParams:
        """A copy with parameters replaced by flat name; ``ConfigError`` names a bad one."""
        dec = {k: v for k, v in values.items() if k in DecisionParams.model_fields}
        exe = {k: v for k, v in values.items() if k in ExecutionParams.model_fields}
        unknown = sorted(set(values) - set(dec) - set(exe) - {"bar_ns"})
        if unknown:
            raise ConfigError(f"unknown parameter {unknown[0]!r}")
        return ScanParams(
            decisions=self.decisions.overridden(**dec) if dec else self.decisions,
            execution=(
                ExecutionParams.validated({**self.execution.model_dump(), **exe})
                if exe
                else self.execution
            ),
            bar_ns=int(values.get("bar_ns", self.bar_ns)),
        )

    def values(self) -> dict[str, Any]:
        """Every parameter by flat name (decisions, then execution), JSON-safe."""
        return {**self.decisions.model_dump(), **self.execution.model_dump()}

    def to_record(self) -> np.ndarray:
        """The parameters as a 1-record ``PARAMS_DTYPE`` array (what the kernel takes), built
        by ``vbt.sim.records.params_records``."""
        return params_records({**self.values(), "bar_ns": self.bar_ns})

    @property
    def has_risk_exits(self) -> bool:
        """Any of stop_loss, take_profit, trailing_stop, max_holding_bars set."""
        return any(getattr(self.execution, k) is not None for k in RISK_FIELDS)


@dataclass(frozen=True)
class ScanResult:
    """Outputs of a finished scan.

    trades: TRADE_DTYPE[n_trades] (closed trades in exit order); equity float64[n] (NaN in the
    warm-up, after the force close at the last bar); position int8[n] (side after each bar's
    close; FLAT at the last bar); state: the final 1-record STATE_DTYPE array; acc: the final
    1-record ACC_DTYPE array (the metrics' running state). With ``record=False`` trades, equity
    and position are empty.
    """

    trades: np.ndarray
    equity: np.ndarray
    position: np.ndarray
    state: np.ndarray
    acc: np.ndarray


@dataclass(frozen=True)
class Checkpoint:
    """A saved scan: state, metric accumulators, trades so far, equity/position of bars
    [0, state.next_bar), params, the caller's fingerprint, the number of bars of the run, and the
    file it came from."""

    state: np.ndarray
    acc: np.ndarray
    trades: np.ndarray
    equity: np.ndarray
    position: np.ndarray
    params: np.ndarray
    fingerprint: str
    n_bars: int
    version: int = CHECKPOINT_VERSION
    path: str = ""

    @property
    def next_bar(self) -> int:
        return int(self.state[0]["next_bar"])


def save_checkpoint(path: str | os.PathLike, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` to ``path`` atomically (temp file in the same folder, fsync, rename)."""
    atomic_write(
        path,
        lambda f: np.savez(
            f,
            version=np.int64(ckpt.version),
            fingerprint=np.str_(ckpt.fingerprint),
            n_bars=np.int64(ckpt.n_bars),
            params=ckpt.params,
            state=ckpt.state,
            acc=ckpt.acc,
            trades=ckpt.trades,
            equity=ckpt.equity,
            position=ckpt.position,
        ),
    )


def read_npz(path: Path, want: set[str], what: str, kind: str) -> dict[str, np.ndarray]:
    """The arrays ``want`` of an ``.npz`` file, never unpickling; a missing, corrupt or foreign
    file (one without those arrays) raises ``ConfigError`` naming it as ``what``."""
    if not path.is_file():
        raise ConfigError(f"{what} {path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = want - set(z.files)
            if missing:
                raise ConfigError(f"{what} {path}: not {kind} (missing {sorted(missing)})")
            return {k: z[k] for k in want}
    except ConfigError:
        raise
    except Exception as e:  # zip/npy errors come in many types
        raise ConfigError(f"{what} {path}: corrupt or unreadable ({type(e).__name__}: {e})") from e


def npz_scalar(data: dict[str, np.ndarray], key: str, kind: type, where: str) -> Any:
    """The one value of the 0-d (or one-element) array ``data[key]`` as ``kind`` (``int`` or
    ``str``); a ``ConfigError`` naming ``where`` and the field when it is not one (a damaged or
    foreign file)."""
    a = data[key]
    ok = a.size == 1 and (np.issubdtype(a.dtype, np.integer) if kind is int
                          else a.dtype.kind == "U")  # fmt: skip
    if not ok:
        raise ConfigError(f"{where}: field {key!r}: expected one {kind.__name__}, got "
                          f"{a.dtype} of shape {a.shape}; not a vbt checkpoint")  # fmt: skip
    return kind(a.reshape(-1)[0])


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by ``run_scan``; a missing, corrupt or foreign file (an array
    missing, of another layout, shape or kind, lengths that disagree) raises ``ConfigError``
    naming it. Never unpickles."""
    path = Path(path)
    want = {
        "version", "fingerprint", "n_bars", "params", "state", "acc", "trades", "equity",
        "position",
    }  # fmt: skip
    data = read_npz(path, want, "checkpoint", "a vbt scan checkpoint")
    where = f"checkpoint {path}"
    version = npz_scalar(data, "version", int, where)
    if version != CHECKPOINT_VERSION:
        raise ConfigError(
            f"checkpoint {path}: format version {version}, expected {CHECKPOINT_VERSION}"
        )
    layouts = (
        ("params", PARAMS_DTYPE), ("state", STATE_DTYPE), ("acc", ACC_DTYPE),
        ("trades", TRADE_DTYPE),
    )  # fmt: skip
    for key, dtype in layouts:
        if data[key].dtype != dtype:
            raise ConfigError(f"checkpoint {path}: field {key!r} has an unexpected record layout")
    state = data["state"].reshape(-1)
    n_bars = npz_scalar(data, "n_bars", int, where)
    fingerprint = npz_scalar(data, "fingerprint", str, where)
    nxt = int(state[0]["next_bar"]) if state.shape == (1,) else -1
    ok = (
        state.shape == (1,)
        and data["params"].shape == (1,)
        and data["acc"].shape == (1,)
        and 0 <= nxt <= n_bars
        and data["equity"].shape == (nxt,)
        and data["equity"].dtype == np.float64
        and data["position"].shape == (nxt,)
        and data["position"].dtype == np.int8
        and data["trades"].shape == (int(state[0]["n_trades"]),)
    )
    if not ok:
        raise ConfigError(
            f"checkpoint {path}: inconsistent contents (state, trades, equity lengths)"
        )
    return Checkpoint(
        state=state.copy(),
        acc=data["acc"].copy(),
        trades=data["trades"],
        equity=data["equity"],
        position=data["position"],
        params=data["params"],
        fingerprint=fingerprint,
        n_bars=n_bars,
        version=version,
        path=str(path),
    )


def _copy_records(dst: np.ndarray, src: np.ndarray) -> None:
    """dst[:len(src)] = src for record arrays, as one memcpy (numpy's field-wise copy of packed
    structured arrays is several times slower)."""
    k = src.shape[0]
    if k:
        dst[:k].view(np.uint8)[:] = np.ascontiguousarray(src).view(np.uint8)


def check_risk_inputs(inputs: ScanInputs, params: ScanParams) -> None:
    """Risk exits read the bars' high and low: refuse a run that has them on but no extremes."""
    if params.has_risk_exits and not inputs.has_extremes:
        raise ConfigError(f"risk exits ({', '.join(RISK_FIELDS)}) need the bars' high and low: "
                          "pass ScanInputs(high=..., low=...)")  # fmt: skip


def is_cancelled(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


def _chunk_trade_room(chunk: int) -> int:
    # Closes in a chunk of L bars: at most one per two bars, plus a carried-in position and the
    # force close.
    return chunk // 2 + 2


def run_scan(
    inputs: ScanInputs,
    params: ScanParams,
    chunk_bars: int = 65536,
    progress: ProgressFn | None = None,
    cancel: Any = None,
    checkpoint: str | os.PathLike | None = None,
    resume_from: str | os.PathLike | Checkpoint | None = None,
    fingerprint: str = "",
    checkpoint_every: int = 1,
    record: bool = True,
) -> ScanResult:
    """Run the scan over all bars in chunks of ``chunk_bars``.

    progress(done_bars, total_bars) is called after each chunk. cancel (a callable returning bool,
    or an object with ``is_set()``) is checked before each chunk; when set, a checkpoint is written
    (if ``checkpoint``) and ``CancelledError`` is raised naming the bar reached. ``checkpoint``: a
    path written atomically after every ``checkpoint_every``-th chunk and after the last one.
    ``resume_from``: a checkpoint path or ``Checkpoint``; refused with ``ConfigError`` when its
    fingerprint, params or number of bars differ from this run's. ``fingerprint`` is the caller's
    identity of the run (model, data, config), stored in and checked against checkpoints.
    ``record=False`` keeps only the state and the metric accumulators (no per-bar outputs, no
    trade records).
    """
    n = len(inputs)
    if int(chunk_bars) < 1:
        raise ConfigError(f"chunk_bars = {chunk_bars!r}: must be >= 1")
    check_risk_inputs(inputs, params)
    if int(checkpoint_every) < 1:
        raise ConfigError(f"checkpoint_every = {checkpoint_every!r}: must be >= 1")
    chunk_bars = min(int(chunk_bars), max(n, 1))  # buffers are sized from the data, not the knob
    prec = params.to_record()
    m = n if record else 0
    equity = np.empty(m, dtype=np.float64)
    position = np.empty(m, dtype=np.int8)

    if resume_from is not None:
        ck = resume_from if isinstance(resume_from, Checkpoint) else load_checkpoint(resume_from)
        where = f"checkpoint {ck.path}" if ck.path else "checkpoint"
        if ck.fingerprint != fingerprint:
            raise ConfigError(
                f"{where}: fingerprint {ck.fingerprint!r} does not match this run's {fingerprint!r}"
            )
        if ck.n_bars != n:
            raise ConfigError(f"{where}: made for {ck.n_bars} bars, this run has {n}")
        if ck.params.tobytes() != prec.tobytes():
            differ = [k for k in PARAMS_DTYPE.names if ck.params[0][k] != prec[0][k]]
            raise ConfigError(f"{where}: parameters differ from this run's ({', '.join(differ)})")
        state, acc = ck.state.copy(), ck.acc.copy()
        k = ck.next_bar
        if record:
            if ck.equity.shape[0] != k:
                raise ConfigError(f"{where}: holds no per-bar outputs; resume it with record=False")
            equity[:k] = ck.equity
            position[:k] = ck.position
        n_trades = int(state[0]["n_trades"])
        trades = np.empty(n_trades + _chunk_trade_room(chunk_bars) if record else 0, TRADE_DTYPE)
        if record:
            _copy_records(trades, ck.trades)
    else:
        state, acc = new_state(params.execution.initial_capital), new_acc()
        trades = np.empty(_chunk_trade_room(chunk_bars) if record else 0, dtype=TRADE_DTYPE)

    def snapshot() -> Checkpoint:
        k = int(state[0]["next_bar"]) if record else 0
        return Checkpoint(
            state=state.copy(),
            acc=acc.copy(),
            trades=trades[: int(state[0]["n_trades"]) if record else 0],
            equity=equity[:k],
            position=position[:k],
            params=prec,
            fingerprint=fingerprint,
            n_bars=n,
        )

    chunks_done = 0
    while not state[0]["done"]:
        start = int(state[0]["next_bar"])
        if is_cancelled(cancel):
            if checkpoint is not None:
                save_checkpoint(checkpoint, snapshot())
            saved = f"; checkpoint written to {checkpoint}" if checkpoint is not None else ""
            raise CancelledError(f"scan cancelled at bar {start} of {n}{saved}")
        stop = min(start + chunk_bars, n)
        n_trades = int(state[0]["n_trades"])
        need = n_trades + _chunk_trade_room(stop - start)
        if record and need > trades.shape[0]:
            grown = np.empty(max(need, 2 * trades.shape[0]), dtype=TRADE_DTYPE)
            _copy_records(grown, trades[:n_trades])
            trades = grown
        x = inputs
        scan_chunk_nb(
            stop, x.ts_ns, x.open, x.high, x.low, x.close, x.raw, x.confidence, x.value,
            prec, state, acc, trades, equity, position, record,
        )  # fmt: skip
        chunks_done += 1
        if checkpoint is not None and (state[0]["done"] or chunks_done % checkpoint_every == 0):
            save_checkpoint(checkpoint, snapshot())
        if progress is not None:
            progress(int(state[0]["next_bar"]), n)

    out = np.empty(int(state[0]["n_trades"]) if record else 0, dtype=TRADE_DTYPE)
    _copy_records(out, trades[: out.shape[0]])
    return ScanResult(trades=out, equity=equity, position=position, state=state, acc=acc)
