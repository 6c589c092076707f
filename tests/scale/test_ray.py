"""Sweeps on a local Ray cluster (started once for this module): identical to the local backend,
a task whose worker is killed is retried and the result is still identical, and cancelling stops
the tasks."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray

import vbt
from vbt.errors import CancelledError
from vbt.sim import ScanInputs, ScanParams
from vbt.sweeps.grid import Grid, select
from vbt.sweeps.ray_backend import run_sweep_ray
from vbt.sweeps.runner import run_sweep

ROOT = Path(vbt.__file__).resolve().parent.parent
H = 3_600_000_000_000


@pytest.fixture(scope="module", autouse=True)
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield
    ray.shutdown()


def inputs(n, seed=0):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.003, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.003, n)))
    raw = rng.choice(np.array([-1, 0, 1], np.int8), n, p=[0.1, 0.8, 0.1])
    conf = rng.random(n).astype(np.float32)
    return ScanInputs(np.arange(n) * H, open_, close, raw, conf, high=high, low=low)


BASE = ScanParams().with_values(warmup_bars=5, allow_short_from_flat=True)
GRID = {"confidence_threshold": "0.3:0.7:0.1", "commission": [0.0, 0.001],
        "stop_loss": [None, 0.02]}  # fmt: skip


def test_ray_sweep_equals_the_local_backend():
    x = inputs(20_000)
    grid = Grid.parse(GRID, BASE)
    combos = select(grid, BASE)
    local = run_sweep(x, BASE, grid, combos, threads=1)
    seen = []
    # 3 combinations per task: several tasks, more than the cluster runs at once
    remote = run_sweep_ray(x, BASE, grid, combos, task_combo_bars=3 * len(x), max_in_flight=3,
                           progress=lambda d, t: seen.append((d, t)))  # fmt: skip
    assert remote.tobytes() == local.tobytes()
    assert seen[-1] == (len(combos) * len(x), len(combos) * len(x)) and len(seen) == 7


def test_vbt_sweep_with_the_ray_backend_gives_the_same_table(tmp_path):
    data = ROOT / "data_fixtures"
    model = vbt.train(data / "strategies" / "rsi_single_tf.yaml", data_dir=data, symbol="EURUSD",
                      out_dir=tmp_path, progress=False)  # fmt: skip
    cfg = vbt.BacktestConfig(model_path=str(model), data_dir=str(data), confidence_threshold=0.0)
    prepared = vbt.prepare(cfg)
    grid = {"min_signal_separation": [0, 4, 8], "slippage": [0.0, 0.001]}
    local = vbt.sweep(prepared, grid)
    remote = vbt.sweep(prepared, grid, backend="ray")
    assert remote.table.equals(local.table) and local.table["total_trades"].n_unique() > 1
    one_per_task = vbt.sweep(prepared, grid, backend="ray", task_combo_bars=1)  # 6 tasks
    assert one_per_task.table.equals(local.table)


def _block_workers() -> list[int]:
    """PIDs of Ray worker processes running a sweep block (Ray names them after the task)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes()
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if b"ray::_sweep_block" in cmd and state not in ("Z", "X"):  # not a dead one
                pids.append(int(proc.name))
    return pids


def _wait_for_workers(timeout=60.0) -> list[int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        pids = _block_workers()
        if pids:
            return pids
        time.sleep(0.05)
    raise AssertionError("no sweep task started on the cluster")


def test_a_killed_task_is_retried_and_the_result_is_identical():
    x = inputs(200_000, seed=1)
    grid = Grid.parse(GRID, BASE)
    combos = select(grid, BASE)
    local = run_sweep(x, BASE, grid, combos, threads=1)
    box = {}

    def sweep():
        box["accs"] = run_sweep_ray(x, BASE, grid, combos, task_combo_bars=4 * len(x))

    worker = threading.Thread(target=sweep)
    worker.start()
    victim = _wait_for_workers()[0]
    os.kill(victim, signal.SIGKILL)  # the worker dies mid-task; Ray runs the task again
    worker.join(timeout=300)
    assert not worker.is_alive() and "accs" in box
    assert box["accs"].tobytes() == local.tobytes()


def _wait_until_idle(timeout=120.0) -> None:
    end = time.monotonic() + timeout
    while _block_workers() and time.monotonic() < end:
        time.sleep(0.1)


def test_cancel_stops_the_tasks():
    _wait_until_idle()  # nothing left over from an earlier test
    assert _block_workers() == []
    x = inputs(400_000, seed=2)
    grid = Grid.parse(GRID, BASE)
    combos = select(grid, BASE)
    stop = threading.Event()
    box = {}

    def sweep():
        try:
            run_sweep_ray(x, BASE, grid, combos, task_combo_bars=4 * len(x), cancel=stop)
        except CancelledError as exc:
            box["error"] = exc

    worker = threading.Thread(target=sweep)
    worker.start()
    _wait_for_workers()
    stop.set()
    worker.join(timeout=120)
    assert not worker.is_alive() and "combination-bars done" in str(box["error"])
    _wait_until_idle()  # force-cancelled: their workers exit
    assert _block_workers() == []


def test_a_batch_on_ray_equals_the_local_backend(tmp_path):
    data = ROOT / "data_fixtures"
    models = [
        vbt.train(data / "strategies" / name, data_dir=data, symbol="EURUSD",
                  out_dir=tmp_path / "models", progress=False)
        for name in ("rsi_single_tf.yaml", "regression_forward_return.yaml")
    ]  # fmt: skip
    spec = {
        "defaults": {"data_dir": str(data), "config": {"confidence_threshold": 0.0}},
        "jobs": [
            {"model": str(models[0]), "name": "a"},
            {"model": str(models[0]), "config": {"commission": 0.002}, "name": "a-costly"},
            {"model": str(models[0]), "grid": {"slippage": [0.0, 0.001]}, "name": "a-sweep"},
            {"model": str(models[1]), "config": {"confidence_threshold": None}, "name": "b"},
            {"model": str(models[1]), "start_date": "2030-01-01", "name": "b-empty"},
        ],
    }  # fmt: skip
    local = vbt.batch(spec, tmp_path / "local", jobs=1)
    remote = vbt.batch(spec, tmp_path / "ray", backend="ray")

    def comparable(res):
        # what a job computed: everything but where and when it ran
        drop = ("timings", "worker", "finished_at", "shared")
        return {r["id"]: {k: v for k, v in r.items() if k not in drop} for r in res.records}

    assert comparable(remote) == comparable(local)
    assert {r["status"] for r in remote.records} == {"ok", "error"}  # b-empty has no bars
    assert remote.exit_status == local.exit_status != 0
