"""Security over HTTP: every bad-request class is a 4xx naming what is wrong, paths stay inside
their roots, bodies are size-limited, the bearer token guards every endpoint but /health, and
the worker refuses to bind beyond loopback without one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import httpx
import pytest
from workerkit import DATA, REPO, Worker, body

TOKEN = "t0ken-for-the-worker-tests-0123456789"


@pytest.fixture(scope="module")
def worker(models_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("sec")
    # a models root with an escape hatch: a symlink to a model outside the root
    models = root / "models"
    outside = root / "outside"
    outside.mkdir()
    (outside / "model.pt").write_bytes(b"not a model")
    models.mkdir()
    shutil.copytree(models_root / "rsi_single_tf", models / "rsi_single_tf", symlinks=True)
    (models / "escape").symlink_to(outside)
    data = root / "data"
    (data / "real").mkdir(parents=True)
    shutil.copy(DATA / "EURUSD_1h.parquet", data / "real")
    (data / "fx").symlink_to(data / "real")  # a symlink that stays inside its root is fine
    (data / "GBPUSD_1h.csv").symlink_to(outside / "model.pt")  # a data file outside
    with Worker(models, root / "state", "--max-body-bytes", "4096", token=TOKEN, data=data) as w:
        yield w


def refused(r: httpx.Response, status: int, field: str | None) -> None:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    if field is not None:
        assert any(field in [str(x) for x in d["loc"]] for d in detail), detail


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"model_path": "../outside"}, "model_path", 403),
        ({"model_path": "rsi_single_tf/../../outside"}, "model_path", 403),
        ({"model_path": "/etc"}, "model_path", 403),
        ({"model_path": "/home/u/.ktrdr/shared/models/../../../../etc"}, "model_path", 403),
        ({"model_path": "escape"}, "model_path", 403),
        ({"model_path": "nothing/here"}, "model_path", 404),
        ({"model_path": "rsi_single_tf"}, "model_path", 404),  # a folder, not a model
        ({"model_path": "a\u0000b"}, "model_path", 422),
        ({"data_dir": "../../"}, "data_dir", 403),
        ({"data_dir": "/tmp"}, "data_dir", 403),
        ({"data_dir": "missing"}, "data_dir", 404),
        ({"symbol": "GBPUSD"}, "symbol", 403),  # its bar file links outside the data root
        ({"symbol": "../EURUSD"}, "symbol", 422),
        ({"strategy_name": "../../x"}, "strategy_name", 422),
        ({"strategy_name": "nope"}, "strategy_name", 404),
        ({"timeframe": "1h; rm"}, "timeframe", 422),
        ({"timeframes": ["1h", "x"]}, "timeframes", 422),
        ({"task_id": "../../etc/passwd"}, "task_id", 422),
        ({"task_id": ".hidden"}, "task_id", 422),
    ],
)
def test_paths_and_names_stay_inside_their_roots(client, change, field, status):
    refused(client.post("/backtests/start", json=body(**change)), status, field)


def test_data_dir_inside_the_root_is_accepted(client):
    r = client.post("/backtests/start", json=body(data_dir="fx", end_date="2024-03-10"))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"symbol": None}, "symbol"),
        ({"start_date": "2024-13-01"}, "start_date"),
        ({"end_date": "yesterday"}, "end_date"),
        ({"start_date": "2024-06-01", "end_date": "2024-03-01"}, "end_date"),
        ({"initial_capital": -1}, "initial_capital"),
        ({"initial_capital": "lots"}, "initial_capital"),
        ({"commission": 1.5}, "commission"),
        ({"slippage": -0.1}, "slippage"),
        ({"timeframes": "1h"}, "timeframes"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_bad_fields_are_422_naming_the_field(client, change, field):
    b = body(**change)
    b = {k: v for k, v in b.items() if not (k == "symbol" and v is None)}
    refused(client.post("/backtests/start", json=b), 422, field)


@pytest.mark.parametrize(
    ("grid", "field"),
    [
        ({"features": [1]}, "grid.features"),
        ({"commission": [2.0]}, "grid.commission"),
        ({"commission": "0.1:0.0:0.1"}, "grid.commission"),
        ({}, "grid"),
    ],
)
def test_bad_sweep_grids_are_422_naming_the_axis(client, grid, field):
    refused(client.post("/sweeps/start", json=body(grid=grid)), 422, field)


def test_a_sweep_ranked_by_no_metric_is_422_naming_by(client):
    r = client.post("/sweeps/start", json=body(grid={"commission": [0.001]}, by="sharpe"))
    refused(r, 422, "by")
    assert "'sharpe': not a metric; metrics: " in r.json()["detail"][0]["msg"]


def test_malformed_requests_are_4xx(client, worker):
    def post(content: bytes, ctype: str = "application/json") -> httpx.Response:
        return client.post("/backtests/start", content=content, headers={"content-type": ctype})

    assert post(b"{not json").status_code == 422
    assert post(b"[1, 2]").status_code == 422
    assert post(b"").status_code == 422
    assert post(b"symbol=EURUSD", "application/x-www-form-urlencoded").status_code == 422
    assert post(b"\xff\xfe\x00").status_code == 400  # not even text
    assert client.get("/backtests/start").status_code == 405
    assert client.get("/no/such/path").status_code == 404
    refused(client.get("/api/v1/operations", params={"limit": 0}), 422, "limit")
    refused(client.get("/api/v1/operations", params={"status": "bogus"}), 422, "status")
    refused(client.get("/api/v1/operations", params={"operation_type": "x"}), 422,
            "operation_type")  # fmt: skip
    refused(client.get("/api/v1/operations", params={"active_only": "maybe"}), 422, "active_only")
    refused(client.get("/api/v1/operations/bad%20id"), 422, "operation_id")
    refused(client.post("/backtests/resume", json={}), 422, "operation_id")
    refused(client.delete("/api/v1/operations/x/cancel", params={"reason": "r" * 501}), 422,
            "reason")  # fmt: skip


def test_request_bodies_are_size_limited(client):
    big = body(strategy_name="x" * 10)
    big["timeframes"] = ["1h"] * 2000
    r = client.post("/backtests/start", json=big)
    assert r.status_code == 413

    def chunks():
        yield b'{"symbol": "'
        for _ in range(100):
            yield b"A" * 100

    r = client.post("/backtests/start", content=chunks(),
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413


def test_token_guards_every_endpoint_but_health(worker):
    with worker.client(token=None) as anon, worker.client(token="wrong-token-wrong-token") as bad:
        for c in (anon, bad):
            assert c.get("/health").status_code == 200
            for method, path in [("GET", "/api/v1/operations"), ("GET", "/metrics"),
                                 ("GET", "/"), ("GET", "/openapi.json"),
                                 ("POST", "/backtests/start"), ("POST", "/sweeps/start"),
                                 ("POST", "/backtests/resume"),
                                 ("DELETE", "/api/v1/operations/x/cancel"),
                                 ("GET", "/api/v1/operations/x")]:  # fmt: skip
                r = c.request(method, path, json={})
                assert r.status_code == 401, (method, path, r.status_code)
                assert r.headers["www-authenticate"] == "Bearer"
    with worker.client() as good:
        assert good.get("/api/v1/operations").status_code == 200


def run_cli(tmp_path, *args, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("VBT_WORKER_TOKEN", None)
    if token:
        env["VBT_WORKER_TOKEN"] = token
    cmd = [sys.executable, "-m", "vbt.cli", "worker", "--models-root", str(tmp_path),
           "--data-root", str(DATA), "--state-dir", str(tmp_path / "state"), *args]  # fmt: skip
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def test_binding_beyond_loopback_needs_a_token(tmp_path):
    r = run_cli(tmp_path, "--host", "0.0.0.0", "--port", "1")
    assert r.returncode == 2
    assert "needs a bearer token in VBT_WORKER_TOKEN" in r.stderr
    short = run_cli(tmp_path, "--host", "0.0.0.0", "--port", "1", token="short")
    assert short.returncode == 2 and "at least 16 characters" in short.stderr


def test_a_second_worker_on_the_same_state_dir_is_refused(worker, tmp_path):
    r = subprocess.run(worker.command(), env=worker.env(), capture_output=True, text=True,
                       timeout=60)  # fmt: skip
    assert r.returncode == 2 and "another worker is using it" in r.stderr


def test_a_trusted_network_needs_no_token_and_others_still_do(models_root, tmp_path):
    """The older backend sends no token: with --trusted-network, its network's requests pass
    without one; a client outside every trusted network still gets 401, and /health stays open.
    Loopback stands for the backend's private network here (the only one a test can reach)."""
    with Worker(models_root, tmp_path / "a", "--trusted-network", "127.0.0.0/8",
                token=TOKEN) as w:  # fmt: skip
        with w.client(token=None) as c:
            assert c.get("/api/v1/operations").status_code == 200
        with w.client(token="wrong-token-wrong-token") as c:
            assert c.get("/api/v1/operations").status_code == 200  # trusted: not even read
    with Worker(models_root, tmp_path / "b", "--trusted-network", "10.0.0.0/8",
                "--trusted-network", "fd00::/8", token=TOKEN) as w:  # fmt: skip
        with w.client(token=None) as c:
            assert c.get("/api/v1/operations").status_code == 401
            assert c.get("/health").status_code == 200
        with w.client() as c:
            assert c.get("/api/v1/operations").status_code == 200


@pytest.mark.parametrize(
    ("value", "message"),
    [("not-a-net", "not a network"), ("0.0.0.0/0", "trusts every address"),
     ("::/0", "trusts every address")],
)  # fmt: skip
def test_a_bad_trusted_network_is_one_line_naming_the_option(tmp_path, value, message):
    from vbt.errors import ConfigError
    from vbt.worker.settings import WorkerSettings

    with pytest.raises(ConfigError, match=f"--trusted-network .*{message}"):
        WorkerSettings(models_root=tmp_path, data_root=tmp_path, state_dir=tmp_path / "s",
                       trusted_networks=(value,))  # fmt: skip
    env = {**os.environ, "VBT_WORKER_TRUSTED_NETWORKS": value}
    r = subprocess.run([sys.executable, "-m", "vbt.cli", "worker", "--models-root", str(tmp_path),
                        "--data-root", str(tmp_path), "--state-dir", str(tmp_path / "s")],
                       env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "VBT_WORKER_TRUSTED_NETWORKS" in r.stderr, r.stderr
