"""Writes ``scan_before_risk_exits.npz``: the inputs and results of the scan as it was before risk
exits existed, for ``tests/sim/test_risk_exits.py::test_results_without_risk_exits_are_unchanged``.

Run once with vbt checked out at commit 9076d02 (the last commit without risk exits)::

    git worktree add /tmp/old 9076d02
    NUMBA_CACHE_DIR=/tmp/old-cache PYTHONPATH=/tmp/old .venv/bin/python \
        tests/sim/data/make_scan_before_risk_exits.py tests/sim/data/scan_before_risk_exits.npz

The inputs come from integer draws only (prices in ticks of 1e-4, confidences in steps of 1e-3),
and are stored with the results, so the file means the same on every machine.
"""

from __future__ import annotations

import sys

import numpy as np

from vbt.metrics import METRIC_NAMES, metrics_dict
from vbt.sim import ScanInputs, ScanParams, run_scan

H = 3_600_000_000_000
N = 3000
OLD_METRICS = METRIC_NAMES[:28]
CASES = [
    {},
    {"allow_short_from_flat": True, "min_signal_separation": 0, "confidence_threshold": 0.3},
    {"output_type": "regression", "output_format": "regression", "position_fraction": 0.9},
]


def make_inputs(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close_ticks = 1_000_000 + np.cumsum(rng.integers(-1500, 1501, N))
    open_ticks = np.concatenate([[1_000_000], close_ticks[:-1]]) + rng.integers(-300, 301, N)
    return {
        "ts_ns": 1_600_000_000 * 10**9 + np.cumsum(rng.integers(1, 3, N)) * H,
        "open": open_ticks / 10_000,
        "close": close_ticks / 10_000,
        "raw": np.array([-1, 0, 0, 0, 0, 0, 0, 0, 0, 1], np.int8)[rng.integers(0, 10, N)],
        "confidence": (rng.integers(0, 1000, N) / 1000).astype(np.float32),
        "value": (rng.integers(-600, 601, N) / 100_000).astype(np.float32),
    }


def main(out: str) -> None:
    arrays: dict[str, np.ndarray] = {"metric_names": np.array(OLD_METRICS)}
    for seed in (1, 2):
        x = make_inputs(seed)
        arrays.update({f"s{seed}_{k}": v for k, v in x.items()})
        inputs = ScanInputs(x["ts_ns"], x["open"], x["close"], x["raw"], x["confidence"],
                            x["value"])  # fmt: skip
        for c, case in enumerate(CASES):
            p = ScanParams().with_values(**case)
            r = run_scan(inputs, p, chunk_bars=777)
            span = int(x["ts_ns"][-1] + H - x["ts_ns"][0])
            m = metrics_dict(r.acc, p.execution.initial_capital, span, N)
            key = f"s{seed}_c{c}"
            arrays[f"{key}_trades"] = r.trades
            arrays[f"{key}_equity"] = r.equity
            arrays[f"{key}_position"] = r.position
            arrays[f"{key}_metrics"] = np.array([float(m[k]) for k in OLD_METRICS])
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
