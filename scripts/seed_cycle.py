"""The seeds' end-to-end cycle, driven from the host (run by ``scripts/seed_cycle.sh``).

1. Train the multi-timeframe RSI + Bollinger Bands strategy on the bundled 1h and 5m EURUSD bars.
2. Retag the saved weights ``mps``, as a model trained on Apple silicon is saved, and put them in
   the worker's models folder (the worker never sees a cpu-tagged copy).
3. Start the test backend (``tests/worker/fake_backend.py``: the older backend's side of the
   worker protocol) and the worker's image, registered with it (``--backend-url``).
4. Assess the model with ``vbt research``'s statistics: the held-out test split, buy-and-hold and
   random entries over it, PSR and DSR (trials from the research folder's ledger), the verdict.
5. Have the backend dispatch the backtest of that out-of-sample period to the worker, follow it
   as the older backend does, and read its result with the older consumers' code (the CLI's
   table, the research agent's gate, the evolution harness's fitness).
6. Check the worker's numbers against the same backtest run in this process on the cpu-tagged
   weights, then print the verdict.

Environment: ENGINE (the engine command with its global flags), RUN_FLAGS, IMAGE, WORK (a
folder to work in; default a new temporary one), SIMULATIONS (random-entry runs, 500).
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import vbt  # noqa: E402
from tests.model.device_tags import retag_storages, storage_locations  # noqa: E402
from tests.worker.fake_backend import (  # noqa: E402
    Database,
    FakeBackend,
    backtest_gate_input,
    cli_results_table,
    fitness_input,
)

STRATEGY = REPO / "data_fixtures" / "strategies" / "rsi_bbands_mtf.yaml"
DATA = REPO / "data_fixtures"
STEP = ["start"]


def step(text: str) -> None:
    STEP[0] = text
    print(f"== {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    engine = shlex.split(os.environ.get("ENGINE", "podman"))
    run_flags = shlex.split(os.environ.get("RUN_FLAGS", ""))
    image = os.environ.get("IMAGE", "vbt-worker:seed")
    simulations = int(os.environ.get("SIMULATIONS", "500"))
    work = Path(os.environ.get("WORK") or tempfile.mkdtemp(prefix="vbt-seed-"))
    name = f"vbt-seed-{os.getpid()}"

    step("train rsi_bbands_mtf on 1h and 5m EURUSD bars")
    trained = vbt.train(STRATEGY, data_dir=DATA, symbol="EURUSD", out_dir=work / "trained",
                        progress=False)  # fmt: skip
    print(f"model: {trained.relative_to(work)}")

    step("retag the weights mps, as saved on Apple silicon; the worker's models folder gets them")
    shared = work / "models" / "rsi_bbands_mtf" / "1h_v1"
    shutil.copytree(trained, shared)
    retag_storages(shared / "model.pt", "mps")
    assert set(storage_locations(shared / "model.pt")) == {"mps"}
    print(f"storages tagged {sorted(set(storage_locations(shared / 'model.pt')))}")
    (work / "state").mkdir()
    for d in (work / "models", work / "state"):
        os.chmod(d, 0o777)
        for p in d.rglob("*"):
            os.chmod(p, 0o777 if p.is_dir() else 0o666)

    step("start the test backend and the worker's image, registered with it")
    backend = FakeBackend(Database(), health_interval=1.0).start()
    port = free_port()
    cmd = [*engine, "run", *run_flags, "-d", "--name", name, "--network", "host",
           "-v", f"{work / 'models'}:/app/models:ro", "-v", f"{DATA}:/app/data:ro",
           "-v", f"{work / 'state'}:/app/state", image,
           "vbt", "worker", "--host", "127.0.0.1", "--port", str(port),
           "--models-root", "/app/models", "--data-root", "/app/data", "--state-dir", "/app/state",
           "--backend-url", backend.url, "--worker-id", "vbt-seed-worker",
           "--public-url", f"http://127.0.0.1:{port}"]  # fmt: skip
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    try:
        reg = backend.wait(lambda: backend.registrations(), timeout=120)[0]["body"]
        print(f"registered: {reg['worker_id']} ({reg['worker_type']}) at {reg['endpoint_url']}, "
              f"capabilities {reg.get('capabilities')}")  # fmt: skip
        backend.wait(lambda: backend.health_checks, timeout=30)
        print(f"health check answered: {backend.health_checks[-1]['data']}")

        step("assess with vbt research: held-out test split, baselines, PSR/DSR, verdict")
        research = vbt.research.run(STRATEGY, data_dir=DATA, symbol="EURUSD", model_dir=trained,
                                    out_dir=work / "research", simulations=simulations)  # fmt: skip
        r = research.report
        oos = r["out_of_sample"]
        print(f"out of sample: {oos['start']} .. {oos['end']} ({oos['bars']} bars)")

        step("the backend dispatches the backtest of that period to the worker")
        start = datetime.fromisoformat(oos["start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(oos["end"].replace("Z", "+00:00"))
        sent = backend.dispatch_backtest(
            "seed_cycle_bt", symbol="EURUSD", timeframe="1h",
            strategy_config_path="strategies/rsi_bbands_mtf.yaml",
            model_path="models/rsi_bbands_mtf/1h_v1", start_date=start, end_date=end,
        )  # fmt: skip
        print(f"dispatched to {sent['worker_id']}: worker operation {sent['remote_operation_id']}")
        t0 = time.monotonic()
        op = backend.poll("seed_cycle_bt", timeout=300)
        print(f"status {op['status']} after {time.monotonic() - t0:.1f} s of polling")
        assert op["status"] == "completed", op.get("error_message")
        summary = op["result_summary"]

        step("the older consumers read the result")
        for row in cli_results_table(summary):
            print(f"  cli: {row}")
        gate = backtest_gate_input(summary)
        print(f"  agent gate: {gate}")
        sharpe, drawdown, strategy = fitness_input(op)
        print(f"  evolution fitness: sharpe {sharpe}, drawdown {drawdown}, strategy {strategy}")
        print(f"  undefined metrics (0.0 in the older view): {summary['undefined_metrics']}")

        step("the worker's numbers equal the same backtest run here on the cpu-tagged weights")
        cfg = vbt.BacktestConfig(model_path=trained, data_dir=DATA, symbol="EURUSD",
                                 timeframe="1h", start_date=start.isoformat(),
                                 end_date=end.isoformat())  # fmt: skip
        local = vbt.BacktestEngine(cfg).run().metrics
        got = summary["metrics"]
        diff = {k: (got.get(k), v) for k, v in local.items() if v is not None and got.get(k) != v}
        assert not diff, diff
        assert {k for k, v in local.items() if v is None} <= set(summary["undefined_metrics"])
        print(f"equal in all {len(local)} metrics ({local['total_trades']} trades)")

        step("verdict")
        v = r["verdict"]
        stats = r["sharpe_statistics"]
        print(f"PSR(0) {stats['psr']}, DSR {stats['dsr']} over {stats['trials']} trial(s)")
        for reason in v["reasons"]:
            print(f"  - {reason}")
        print(f"VERDICT: {v['verdict']}")
        return 0
    finally:
        subprocess.run([*engine, "rm", "-f", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)  # fmt: skip
        if os.environ.get("KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # the step that failed, then the error, on one line each
        print(f"seed_cycle: FAILED at step: {STEP[0]}: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
