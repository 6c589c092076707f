"""Chunked driver of the sweep kernel: blocks of combinations × chunks of bars, with progress,
cancellation, atomic checkpoints and an exact resume (the same bits as an uninterrupted sweep)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np

from vbt.atomic import atomic_write
from vbt.errors import CancelledError, ConfigError
from vbt.params import RISK_FIELDS
from vbt.sim.records import ACC_DTYPE, STATE_DTYPE, TRADE_DTYPE, new_acc, new_state
from vbt.sim.runner import (
    ProgressFn,
    ScanInputs,
    ScanParams,
    check_risk_inputs,
    is_cancelled,
    npz_scalar,
    read_npz,
)
from vbt.sweeps.grid import Grid
from vbt.sweeps.nb import sweep_chunk_nb

SWEEP_CHECKPOINT_VERSION = 1
DEFAULT_BLOCK_COMBOS = 65_536  # combinations in memory at once (about 26 MB of records)


@dataclass(frozen=True)
class SweepCheckpoint:
    """A saved sweep: its identity (fingerprint of the run, the grid and base parameters, the
    combinations), the finished combinations' accumulators, and the states and accumulators of
    the block in progress."""

    fingerprint: str
    spec: str
    combos: np.ndarray
    done: np.ndarray
    states: np.ndarray
    accs: np.ndarray
    n_bars: int
    path: str = ""


def sweep_spec(grid: Grid, base: ScanParams) -> str:
    """Canonical JSON of what a sweep computes (its grid and base parameters)."""
    return json.dumps({"grid": grid.to_dict(), "base": base.values(), "bar_ns": base.bar_ns},
                      sort_keys=True)  # fmt: skip


def save_sweep_checkpoint(path: str | os.PathLike, ck: SweepCheckpoint) -> None:
    """Write ``ck`` atomically (temp file in the same folder, fsync, rename)."""
    atomic_write(
        path,
        lambda f: np.savez(
            f, version=np.int64(SWEEP_CHECKPOINT_VERSION), kind=np.str_("sweep"),
            fingerprint=np.str_(ck.fingerprint), spec=np.str_(ck.spec), combos=ck.combos,
            done=ck.done, states=ck.states, accs=ck.accs, n_bars=np.int64(ck.n_bars),
        ),
    )  # fmt: skip


def load_sweep_checkpoint(path: str | os.PathLike) -> SweepCheckpoint:
    """Read a sweep checkpoint; a missing, corrupt or foreign file raises ``ConfigError`` naming
    it. Never unpickles."""
    path = Path(path)
    want = {"version", "kind", "fingerprint", "spec", "combos", "done", "states", "accs", "n_bars"}
    d = read_npz(path, want, "sweep checkpoint", "a vbt sweep checkpoint")
    where = f"sweep checkpoint {path}"
    scalars = {k: npz_scalar(d, k, kind, where) for k, kind in (
        ("kind", str), ("version", int), ("fingerprint", str), ("spec", str), ("n_bars", int))}  # fmt: skip
    if scalars["kind"] != "sweep":
        raise ConfigError(f"sweep checkpoint {path}: not a vbt sweep checkpoint")
    if scalars["version"] != SWEEP_CHECKPOINT_VERSION:
        raise ConfigError(f"sweep checkpoint {path}: format version {scalars['version']}")
    ok = (
        all(d[k].ndim == 1 for k in ("combos", "done", "states", "accs"))
        and d["done"].dtype == ACC_DTYPE and d["accs"].dtype == ACC_DTYPE
        and d["states"].dtype == STATE_DTYPE and d["combos"].dtype == np.int64
        and d["states"].shape == d["accs"].shape
        and d["done"].shape[0] + d["states"].shape[0] <= d["combos"].shape[0]
    )  # fmt: skip
    if not ok:
        raise ConfigError(f"sweep checkpoint {path}: inconsistent contents")
    return SweepCheckpoint(
        fingerprint=scalars["fingerprint"], spec=scalars["spec"], combos=d["combos"],
        done=d["done"], states=d["states"], accs=d["accs"], n_bars=scalars["n_bars"],
        path=str(path),
    )  # fmt: skip


def run_sweep(
    inputs: ScanInputs,
    base: ScanParams,
    grid: Grid,
    combos: np.ndarray,
    *,
    chunk_bars: int = 65_536,
    block_combos: int = DEFAULT_BLOCK_COMBOS,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    cancel: Any = None,
    checkpoint: str | os.PathLike | None = None,
    resume_from: str | os.PathLike | None = None,
    fingerprint: str = "",
) -> np.ndarray:
    """The final metric accumulators of each combination: ACC_DTYPE[len(combos)], in order.

    combos: int64 grid indices (``grid.select``). Combinations run ``block_combos`` at a time,
    each block over all bars in chunks of ``chunk_bars``, in parallel over ``threads`` Numba
    threads (default: the usable cores). progress(done, total) counts combination-bars after each
    chunk. cancel (callable → bool, or an Event) is checked before each chunk; when set, a
    checkpoint is written (if ``checkpoint``) and ``CancelledError`` raised. ``checkpoint`` is
    also rewritten after every chunk; ``resume_from`` continues a sweep with the same run
    (``fingerprint``), grid, base parameters and combinations, and gives identical results.
    """
    n, m = len(inputs), len(combos)
    if int(chunk_bars) < 1 or int(block_combos) < 1:
        raise ConfigError("chunk_bars and block_combos must be >= 1")
    nthreads = check_threads(threads)
    risky = base.has_risk_exits or any(name in RISK_FIELDS for name in grid.names)
    if risky and not inputs.has_extremes:
        check_risk_inputs(inputs, base.with_values(max_holding_bars=1))  # raises, naming why
    spec = sweep_spec(grid, base)
    out = np.empty(m, dtype=ACC_DTYPE)
    pos, states, accs = 0, None, None
    if resume_from is not None:
        ck = load_sweep_checkpoint(resume_from)
        where = f"sweep checkpoint {ck.path}"
        if ck.fingerprint != fingerprint or ck.n_bars != n:
            raise ConfigError(f"{where}: made for another run (model, data or dates differ)")
        if ck.spec != spec or not np.array_equal(ck.combos, combos):
            raise ConfigError(f"{where}: made for another grid, constraint or base parameters")
        pos = ck.done.shape[0]
        out[:pos] = ck.done
        if ck.states.shape[0]:
            states, accs = ck.states.copy(), ck.accs.copy()
    no_trades = np.empty(0, dtype=TRADE_DTYPE)
    no_equity, no_position = np.empty(0), np.empty(0, dtype=np.int8)
    total = m * n

    def save() -> None:
        if checkpoint is not None:
            cur = (states, accs) if states is not None else (np.empty(0, STATE_DTYPE), new_acc(0))
            save_sweep_checkpoint(
                checkpoint,
                SweepCheckpoint(fingerprint, spec, combos, out[:pos].copy(), *cur, n_bars=n),
            )

    previous = numba.get_num_threads()
    numba.set_num_threads(nthreads)
    try:
        while pos < m:
            block = combos[pos : pos + int(block_combos)]
            params = grid.records(base, block)
            if states is None:
                states, accs = new_state(params["initial_capital"]), new_acc(len(block))
            while not states[0]["done"]:
                start = int(states[0]["next_bar"])
                if is_cancelled(cancel):
                    save()
                    saved = (
                        f"; checkpoint written to {checkpoint}" if checkpoint is not None else ""
                    )
                    raise CancelledError(
                        f"sweep cancelled at combination {pos:,} of {m:,}, bar {start:,} of {n:,}{saved}"
                    )
                stop = min(start + int(chunk_bars), n)
                x = inputs
                # combinations cost very different amounts (a low threshold trades often): hand
                # them to the threads one at a time rather than in equal contiguous shares
                with numba.parallel_chunksize(1):
                    sweep_chunk_nb(
                        stop, x.ts_ns, x.open, x.high, x.low, x.close, x.raw, x.confidence,
                        x.value, params, states, accs, no_trades, no_equity, no_position,
                    )  # fmt: skip
                if not states[0]["done"]:
                    save()
                if progress is not None:
                    progress(pos * n + len(block) * int(states[0]["next_bar"]), total)
            out[pos : pos + len(block)] = accs
            pos += len(block)
            states = accs = None
            save()
    finally:
        numba.set_num_threads(previous)
    return out


def check_threads(threads: int | None) -> int:
    """The Numba threads of a sweep: ``threads`` (an integer in [1, NUMBA_NUM_THREADS]) or,
    for None, the usable cores; else a ``ConfigError`` naming ``threads``."""
    from vbt.signals.inference import usable_cores  # not at `vbt --help` time

    most = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        return max(1, min(usable_cores(), most))
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        raise ConfigError(f"threads = {threads!r}: must be an integer >= 1")
    if threads > most:
        raise ConfigError(f"threads = {threads}: at most {most} (NUMBA_NUM_THREADS)")
    return int(threads)
