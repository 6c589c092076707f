"""Damaged or foreign checkpoints (``vbt.sim.runner.load_checkpoint``, the sweep's
``load_sweep_checkpoint``): an array of another shape, kind or layout in place of one the run
saved is a ``ConfigError`` of one line naming the file (README "Errors": checkpoints that are
missing, corrupt or from another run), never a TypeError or IndexError; a resume from an intact
one is exact (``test_sim_resume.py``, ``test_sweep_kernel.py``). A fuzz test swaps one array of
real checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sim_resume import PARAMS, CancelAfter, make_inputs

from tests.sweeps.test_sweep_kernel import random_inputs
from vbt.errors import CancelledError, ConfigError
from vbt.sim import ScanParams, load_checkpoint, run_scan
from vbt.sim.records import ACC_DTYPE, STATE_DTYPE, TRADE_DTYPE
from vbt.sweeps.grid import Grid, select
from vbt.sweeps.runner import load_sweep_checkpoint, run_sweep

#: arrays a checkpoint never holds where the run saved another
HOSTILE = [
    np.array([1, 2, 3]), np.array("x"), np.array(1.5), np.zeros((2, 2)), np.array([], np.int64),
    np.array(-1), np.array(10**18), np.array(["a", "b"]), np.zeros(0, STATE_DTYPE),
    np.zeros(3, STATE_DTYPE), np.zeros((1, 1), ACC_DTYPE), np.zeros(2, TRADE_DTYPE),
    np.zeros(5, np.float32), np.zeros(5, np.int8), np.array(True),
]  # fmt: skip


@pytest.fixture(scope="module")
def scan_checkpoint(tmp_path_factory):
    """(inputs, the whole run, the arrays of a checkpoint written at a chunk boundary)."""
    inputs = make_inputs(800, 5)
    path = tmp_path_factory.mktemp("ck") / "x.ckpt.npz"
    whole = run_scan(inputs, PARAMS, chunk_bars=100, fingerprint="fp")
    with pytest.raises(CancelledError):
        run_scan(inputs, PARAMS, chunk_bars=100, cancel=CancelAfter(3), checkpoint=path,
                 fingerprint="fp")  # fmt: skip
    with np.load(path) as z:
        return inputs, whole, {k: z[k] for k in z.files}


@pytest.mark.parametrize("key", ["version", "n_bars", "fingerprint"])
def test_a_scalar_of_another_shape_or_kind_is_refused(scan_checkpoint, tmp_path, key):
    inputs, _whole, arrays = scan_checkpoint
    path = tmp_path / "bad.npz"
    np.savez(path, **{**arrays, key: np.array([1, 2, 3])})
    with pytest.raises(ConfigError) as err:
        load_checkpoint(path)
    assert str(err.value).startswith(f"checkpoint {path}: field {key!r}: expected one")


def test_fuzz_scan_checkpoint_arrays(scan_checkpoint, tmp_path):
    inputs, whole, arrays = scan_checkpoint
    path = tmp_path / "fuzz.ckpt.npz"

    @settings(max_examples=60, deadline=5000, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(key=st.sampled_from(sorted(arrays)), value=st.sampled_from(HOSTILE))
    def fuzz(key, value):
        np.savez(path, **{**arrays, key: value})
        try:
            resumed = run_scan(inputs, PARAMS, chunk_bars=100, resume_from=path,
                               fingerprint="fp")  # fmt: skip
        except ConfigError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            return
        assert resumed.equity.tobytes() == whole.equity.tobytes()

    fuzz()


def test_fuzz_sweep_checkpoint_arrays(tmp_path):
    inputs = random_inputs(np.random.default_rng(3), 1200)
    base = ScanParams().with_values(warmup_bars=5)
    grid = Grid.parse({"slippage": [0, 0.001, 0.002], "position_fraction": [0.1, 0.5]}, base)
    combos = select(grid, base)
    kw = dict(chunk_bars=300, block_combos=4, threads=1, fingerprint="fp")
    whole = run_sweep(inputs, base, grid, combos, **kw)
    path = tmp_path / "s.ckpt.npz"
    calls = {"n": 0}

    def cancel():
        calls["n"] += 1
        return calls["n"] > 2

    with pytest.raises(CancelledError):
        run_sweep(inputs, base, grid, combos, cancel=cancel, checkpoint=path, **kw)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    assert load_sweep_checkpoint(path).n_bars == 1200

    @settings(max_examples=50, deadline=5000, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(key=st.sampled_from(sorted(arrays)), value=st.sampled_from(HOSTILE))
    def fuzz(key, value):
        np.savez(path, **{**arrays, key: value})
        try:
            resumed = run_sweep(inputs, base, grid, combos, resume_from=path, **kw)
        except ConfigError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            return
        assert resumed.tobytes() == whole.tobytes()

    fuzz()
