"""Chunking, checkpoints, cancellation and resume: always bit-identical to one uninterrupted pass."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from vbt.errors import CancelledError, ConfigError
from vbt.sim import ScanInputs, ScanParams, load_checkpoint, run_scan

H = 3_600_000_000_000


def make_inputs(n, seed):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.002, n))
    ts = 1_600_000_000 * 10**9 + np.cumsum(rng.integers(1, 4, n)) * H
    raw = rng.integers(-1, 2, n).astype(np.int8)
    conf = rng.random(n).astype(np.float32)
    return ScanInputs(ts, open_, close, raw, conf)


PARAMS = ScanParams().with_values(initial_capital=10_000.0, warmup_bars=7,
                                  min_signal_separation=2, allow_short_from_flat=True)  # fmt: skip


def assert_same(a, b):
    assert a.trades.tobytes() == b.trades.tobytes()
    assert a.equity.tobytes() == b.equity.tobytes()
    assert a.position.tobytes() == b.position.tobytes()
    assert a.state.tobytes() == b.state.tobytes()
    assert a.acc.tobytes() == b.acc.tobytes()  # the metric accumulators too


class CancelAfter:
    """Says stop after `k` checks (a callable)."""

    def __init__(self, k):
        self.k = k

    def __call__(self):
        self.k -= 1
        return self.k < 0


class Event:
    def __init__(self, after):
        self.calls = 0
        self.after = after

    def is_set(self):
        self.calls += 1
        return self.calls > self.after


@pytest.mark.parametrize("seed", range(5))
def test_chunked_runs_equal_single_pass(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 3000))
    inputs = make_inputs(n, seed)
    whole = run_scan(inputs, PARAMS, chunk_bars=n + 1)
    assert len(whole.trades) > 0 or n < 50
    for chunk in {1, 2, 3, 7, int(rng.integers(1, n + 1)), int(rng.integers(1, n + 1)), n}:
        assert_same(run_scan(inputs, PARAMS, chunk_bars=chunk), whole)


def test_progress_reports_each_chunk():
    inputs = make_inputs(1000, 1)
    seen = []
    run_scan(inputs, PARAMS, chunk_bars=300, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]


@pytest.mark.parametrize("cut", [0, 1, 3, 9])
def test_cancel_writes_checkpoint_that_resumes_exactly(tmp_path, cut):
    inputs = make_inputs(2000, 2)
    whole = run_scan(inputs, PARAMS)
    path = tmp_path / "scan.ckpt"
    with pytest.raises(CancelledError, match=f"at bar {cut * 211} of 2000"):
        run_scan(inputs, PARAMS, chunk_bars=211, cancel=CancelAfter(cut), checkpoint=path,
                 fingerprint="abc")  # fmt: skip
    ck = load_checkpoint(path)
    assert ck.next_bar == cut * 211 and ck.fingerprint == "abc" and ck.n_bars == 2000
    assert not list(tmp_path.glob("*.tmp"))  # atomic write left no temp file
    resumed = run_scan(inputs, PARAMS, chunk_bars=97, resume_from=path, fingerprint="abc")
    assert_same(resumed, whole)
    # a Checkpoint object works as well as a path, and an Event-like cancel as well as a callable
    assert_same(run_scan(inputs, PARAMS, resume_from=ck, fingerprint="abc"), whole)
    with pytest.raises(CancelledError):
        run_scan(inputs, PARAMS, chunk_bars=500, cancel=Event(1), checkpoint=path)
    assert load_checkpoint(path).next_bar == 500


def test_cancel_without_checkpoint_still_raises():
    with pytest.raises(CancelledError, match="at bar 0"):
        run_scan(make_inputs(100, 0), PARAMS, cancel=lambda: True)


@pytest.mark.parametrize("seed", range(3))
def test_periodic_checkpoints_resume_exactly_at_random_cuts(tmp_path, seed):
    rng = np.random.default_rng(seed)
    inputs = make_inputs(1500, 10 + seed)
    whole = run_scan(inputs, PARAMS)
    chunk = int(rng.integers(1, 400))
    k = int(rng.integers(1, 1500 // chunk + 1))
    path = tmp_path / "c.npz"
    try:
        run_scan(inputs, PARAMS, chunk_bars=chunk, checkpoint=path, cancel=CancelAfter(k))
    except CancelledError:
        pass
    # resume from the checkpoint, with a different chunk size
    resumed = run_scan(inputs, PARAMS, chunk_bars=int(rng.integers(1, 400)), resume_from=path)
    assert_same(resumed, whole)


def test_finished_checkpoint_resumes_to_the_same_result(tmp_path):
    inputs = make_inputs(500, 3)
    path = tmp_path / "done.ckpt"
    whole = run_scan(inputs, PARAMS, chunk_bars=128, checkpoint=path)
    assert load_checkpoint(path).state[0]["done"]
    assert_same(run_scan(inputs, PARAMS, resume_from=path), whole)


def test_resume_in_a_new_process(tmp_path):
    inputs = make_inputs(3000, 4)
    whole = run_scan(inputs, PARAMS)
    ck = tmp_path / "run.ckpt"
    with pytest.raises(CancelledError):
        run_scan(inputs, PARAMS, chunk_bars=400, cancel=CancelAfter(3), checkpoint=ck,
                 fingerprint="fp")  # fmt: skip
    data = tmp_path / "inputs.npz"
    np.savez(data, ts=inputs.ts_ns, open=inputs.open, close=inputs.close, raw=inputs.raw,
             conf=inputs.confidence)  # fmt: skip
    params = json.dumps(PARAMS.values())
    out = tmp_path / "out.npz"
    script = textwrap.dedent(
        f"""
        import json
        import numpy as np
        from vbt.sim import ScanInputs, ScanParams, run_scan
        d = np.load({str(data)!r})
        inputs = ScanInputs(d["ts"], d["open"], d["close"], d["raw"], d["conf"])
        params = ScanParams().with_values(**json.loads({params!r}))
        r = run_scan(inputs, params, chunk_bars=333, resume_from={str(ck)!r}, fingerprint="fp")
        np.savez({str(out)!r}, trades=r.trades, equity=r.equity, position=r.position, state=r.state,
                 acc=r.acc)
        """
    )
    env = dict(os.environ)
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    with np.load(out) as r:
        assert r["trades"].tobytes() == whole.trades.tobytes()
        assert r["equity"].tobytes() == whole.equity.tobytes()
        assert r["position"].tobytes() == whole.position.tobytes()
        assert r["state"].tobytes() == whole.state.tobytes()
        assert r["acc"].tobytes() == whole.acc.tobytes()


def _checkpoint(tmp_path, fingerprint="fp"):
    inputs = make_inputs(800, 5)
    path = tmp_path / "x.ckpt"
    with pytest.raises(CancelledError):
        run_scan(inputs, PARAMS, chunk_bars=100, cancel=CancelAfter(2), checkpoint=path,
                 fingerprint=fingerprint)  # fmt: skip
    return inputs, path


def test_refuses_mismatched_fingerprint(tmp_path):
    inputs, path = _checkpoint(tmp_path)
    with pytest.raises(ConfigError, match="fingerprint") as e:
        run_scan(inputs, PARAMS, resume_from=path, fingerprint="other")
    assert str(path) in str(e.value)


def test_refuses_mismatched_params_and_length(tmp_path):
    inputs, path = _checkpoint(tmp_path)
    other = PARAMS.with_values(commission=0.002)
    with pytest.raises(ConfigError, match="parameters"):
        run_scan(inputs, other, resume_from=path, fingerprint="fp")
    shorter = ScanInputs(*(a[:700] for a in (inputs.ts_ns, inputs.open, inputs.close,
                                             inputs.raw, inputs.confidence)))  # fmt: skip
    with pytest.raises(ConfigError, match="800 bars"):
        run_scan(shorter, PARAMS, resume_from=path, fingerprint="fp")


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty"])
def test_refuses_corrupt_checkpoint_naming_the_file(tmp_path, damage):
    inputs, path = _checkpoint(tmp_path)
    blob = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a checkpoint at all" * 10)
    elif damage == "truncate":
        path.write_bytes(blob[: len(blob) // 2])
    else:
        path.write_bytes(b"")
    with pytest.raises(ConfigError) as e:
        run_scan(inputs, PARAMS, resume_from=path, fingerprint="fp")
    assert str(path) in str(e.value)


def test_refuses_missing_or_foreign_checkpoint(tmp_path):
    inputs = make_inputs(100, 0)
    missing = tmp_path / "nope.ckpt"
    with pytest.raises(ConfigError, match="nope.ckpt"):
        run_scan(inputs, PARAMS, resume_from=missing)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ConfigError, match="foreign.npz.*not a vbt scan checkpoint"):
        load_checkpoint(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, **{k: np.array([{"x": 1}], dtype=object) for k in
                         ("version", "fingerprint", "n_bars", "params", "state", "trades",
                          "equity", "position")})  # fmt: skip
    with pytest.raises(ConfigError, match="pickled.npz"):
        load_checkpoint(pickled)


def test_input_validation():
    from vbt.errors import DataError

    good = make_inputs(10, 0)
    with pytest.raises(DataError, match="ts_ns.*increasing"):
        ScanInputs(good.ts_ns[::-1], good.open, good.close, good.raw, good.confidence)
    with pytest.raises(DataError, match="close"):
        ScanInputs(good.ts_ns, good.open, np.r_[good.close[:-1], np.nan], good.raw, good.confidence)
    with pytest.raises(DataError, match="raw"):
        ScanInputs(good.ts_ns, good.open, good.close, good.raw * 2, good.confidence)
    with pytest.raises(DataError, match="open.*shape"):
        ScanInputs(good.ts_ns, good.open[:5], good.close, good.raw, good.confidence)
    with pytest.raises(ConfigError, match="position_fraction"):
        ScanParams().with_values(position_fraction=0.0)
    # datetime64 stamps and int64 signals are accepted and converted
    ok = ScanInputs(good.ts_ns.astype("datetime64[ns]"), good.open, good.close,
                    good.raw.astype(np.int64), good.confidence.astype(np.float64))  # fmt: skip
    assert ok.raw.dtype == np.int8 and ok.ts_ns.dtype == np.int64
    assert ok.ts_ns.tobytes() == good.ts_ns.tobytes()
