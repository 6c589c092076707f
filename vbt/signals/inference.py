"""Batched CPU inference over a FeatureFrame → SignalFrame (raw signal + confidence per bar)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from vbt.decide.rules import classify_blocks_nb, regress_nb
from vbt.enums import HOLD, OUTPUT_CLASSIFICATION, OUTPUT_REGRESSION
from vbt.features.windows import sliding_windows

DEFAULT_CHUNK_ROWS = 65_536


@dataclass(frozen=True, eq=False)
class SignalFrame:
    """Per-bar model signal before the decision filters.

    raw: int8[n] (BUY=1, HOLD=0, SELL=-1); confidence: float32[n] in [0, 1];
    outputs: float32[n, k] raw model outputs (NaN rows where the bar had no valid input).
    """

    raw: np.ndarray
    confidence: np.ndarray
    outputs: np.ndarray


def model_outputs(
    model,
    values: np.ndarray,
    valid: np.ndarray,
    sequence_length: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    threads: int | None = None,
    each: Any = None,
) -> np.ndarray:
    """Model outputs for every bar: float32[n, k], NaN rows where the input is not valid.

    values: float32[n, F] C-contiguous. For sequence models (``sequence_length`` L) bar i is fed
    the window of rows i−L+1..i and counts as valid only when all L rows are. Runs in chunks of
    ``chunk_rows`` rows under ``torch.inference_mode()`` with torch threads = the machine's cores;
    a chunk with no valid row is skipped. ``each(lo, hi, outputs[lo:hi])``, when given, is called
    after each computed chunk.
    """
    import torch

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads or usable_cores())
    try:
        out = _run_chunks(model, values, valid, sequence_length, chunk_rows, each)
    finally:
        torch.set_num_threads(previous_threads)  # the thread count is process-global: restore it
    return out


def usable_cores() -> int:
    """CPU cores this process may run on (respects affinity and container CPU sets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _run_chunks(model, values, valid, sequence_length, chunk_rows, each=None) -> np.ndarray:
    import torch

    from vbt.model.networks import rows_per_batch

    n = values.shape[0]
    if sequence_length:
        inputs, run = sliding_windows(values, valid, int(sequence_length))
        # a chunk copies its windows: keep it to about chunk_rows rows of inputs in memory
        chunk_rows = max(1, chunk_rows // int(sequence_length))
    else:
        inputs, run = values, valid
    chunk_rows = rows_per_batch(model, chunk_rows, sequence_length)  # a wide layer: fewer rows
    out: np.ndarray | None = None
    with torch.inference_mode():
        for lo in range(0, n, chunk_rows):
            hi = min(lo + chunk_rows, n)
            if not run[lo:hi].any():
                continue
            # A row slice of a C-contiguous matrix is contiguous: torch reads it without a copy.
            x = torch.from_numpy(np.ascontiguousarray(inputs[lo:hi], dtype=np.float32))
            y = model(x).float().numpy().reshape(hi - lo, -1)
            if out is None:
                out = np.full((n, y.shape[1]), np.nan, dtype=np.float32)
            out[lo:hi] = y
            out[lo:hi][~run[lo:hi]] = np.nan  # bars without a complete input never signal
            if each is not None:  # while the chunk is in cache
                each(lo, hi, out[lo:hi])
    if out is None:  # no valid bar at all: infer the width with one zero row
        with torch.inference_mode():
            probe = np.zeros((1,) + inputs.shape[1:], dtype=np.float32)
            k = model(torch.from_numpy(probe)).reshape(1, -1).shape[1]
        out = np.full((n, k), np.nan, dtype=np.float32)
    return out


def signals_from_outputs(
    outputs: np.ndarray, output_type: str, regression_threshold: float
) -> SignalFrame:
    """Apply the probability rule (classification) or the threshold rule (regression).

    Rows with non-finite outputs (invalid bars) are HOLD with confidence 0. Any other output type
    (regime or context models) never trades: every bar is HOLD.
    """
    n = outputs.shape[0]
    if output_type == OUTPUT_CLASSIFICATION:
        raw, conf = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.float32)
        classify_blocks_nb(np.ascontiguousarray(outputs, dtype=np.float32), raw, conf)
    elif output_type == OUTPUT_REGRESSION:
        raw, conf = regress_nb(
            np.ascontiguousarray(outputs[:, 0], dtype=np.float32), float(regression_threshold)
        )
    else:
        raw, conf = np.full(n, HOLD, dtype=np.int8), np.zeros(n, dtype=np.float32)
    return SignalFrame(raw=raw, confidence=conf, outputs=outputs)


def infer_signals(
    bundle, frame, regression_threshold: float, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> SignalFrame:
    """Model outputs for every bar of ``frame`` and their raw signals, for a loaded ModelBundle.

    Classification signals are computed chunk by chunk, as the outputs come, rather than in a
    second pass over all of them; the same rule as ``signals_from_outputs``."""
    n = frame.n_bars
    if bundle.output_type != OUTPUT_CLASSIFICATION:
        outputs = model_outputs(
            bundle.model, frame.values, frame.valid, bundle.sequence_length, chunk_rows=chunk_rows
        )
        return signals_from_outputs(outputs, bundle.output_type, regression_threshold)
    raw, conf = np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.float32)

    def classify(lo: int, hi: int, y: np.ndarray) -> None:
        # on Numba's threads while torch's are idle: the rule's exp is most of its cost
        classify_blocks_nb(y, raw[lo:hi], conf[lo:hi])

    outputs = model_outputs(
        bundle.model, frame.values, frame.valid, bundle.sequence_length, chunk_rows=chunk_rows,
        each=classify,
    )  # fmt: skip
    return SignalFrame(raw=raw, confidence=conf, outputs=outputs)
