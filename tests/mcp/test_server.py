"""``vbt mcp`` through the MCP SDK's own client, against a ``vbt mcp`` subprocess over stdio
(and one session over streamable HTTP): the tool list and schemas, the resources and prompt, a
scripted agent session whose second verdict counts both trials, a cancelled long call that
leaves nothing half-written, one-line errors naming the argument, paths outside the workspace."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client
from session import DATA, MISTAKE, ROOT, STRATEGY, answer, run_session, server, transcript

TOOLS = {
    "list_indicators", "list_data", "strategy_schema", "example_strategies",
    "validate_strategy", "save_strategy", "train", "backtest", "sweep", "research", "batch",
    "get_run", "list_runs", "compare_runs", "report", "ledger",
}  # fmt: skip


def call(workspace: Path, *calls: tuple[str, dict]) -> list:
    """The answers of ``calls``, made in order in one session."""

    async def go():
        out = []
        async with Client(server(workspace), read_timeout_seconds=600) as c:
            for tool, args in calls:
                out.append(answer(await c.call_tool(tool, args)))
        return out

    return anyio.run(go)


def test_tools_resources_and_prompt(tmp_path):
    async def go():
        async with Client(server(tmp_path), read_timeout_seconds=120) as c:
            tools = (await c.list_tools()).tools
            resources = (await c.list_resources()).resources
            prompts = (await c.list_prompts()).prompts
            prompt = await c.get_prompt("research_cycle")
            schema = await c.read_resource("vbt://strategy-schema")
            return tools, resources, prompts, prompt, schema

    tools, resources, prompts, prompt, schema = anyio.run(go)
    assert {t.name for t in tools} == TOOLS
    for t in tools:
        assert t.description and t.input_schema["type"] == "object", t.name
        for name, prop in t.input_schema.get("properties", {}).items():
            assert "type" in prop or "anyOf" in prop, (t.name, name)
    by_name = {t.name: t for t in tools}
    backtest = by_name["backtest"].input_schema
    assert backtest["required"] == ["model"] and "description" in backtest["properties"]["model"]
    assert by_name["research"].input_schema["properties"]["walk_forward"]["description"]
    assert {str(r.uri) for r in resources} == {"vbt://strategy-schema", "vbt://indicators"}
    assert [p.name for p in prompts] == ["research_cycle"]
    text = prompt.messages[0].content.text
    assert "Every trial counts" in text and "test split" in text
    assert "indicators" in json.loads(schema.contents[0].text)["properties"]


def test_what_an_agent_reads_first(tmp_path):
    indicators, data, examples, schema = call(
        tmp_path, ("list_indicators", {}), ("list_data", {}), ("example_strategies", {}),
        ("strategy_schema", {}),
    )  # fmt: skip
    rsi = next(i for i in indicators["indicators"] if i["type"] == "rsi")
    period = next(p for p in rsi["parameters"] if p["name"] == "period")
    assert (period["default"], period["ge"], period["le"]) == (14, 2, 100)
    zigzag = next(i for i in indicators["indicators"] if i["type"] == "zigzag")
    assert zigzag["model_input"] is False
    files = {(f["symbol"], f["timeframe"]): f for f in data["files"]}
    assert files[("EURUSD", "1h")]["bars"] == 3120
    assert files[("EURUSD", "1h")]["first"].startswith("2024-01-01")
    names = {e["name"] for e in examples["strategies"]}
    assert {"rsi_bbands_mtf", "rsi_single_tf"} <= names
    assert "nn_inputs" in schema["properties"]


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_scripted_agent_session(tmp_path, transport, http_server):
    calls = run_session(tmp_path if transport == "stdio" else http_server())
    print(transcript(calls))
    tools = [c[0] for c in calls]
    assert tools == ["validate_strategy", "save_strategy", "research", "save_strategy",
                     "research", "compare_runs", "ledger"]  # fmt: skip
    # the mistake: one problem, naming the key and where it is in the text
    mistake = calls[0][2]
    assert mistake["valid"] is False
    [problem] = mistake["problems"]
    assert problem["key"] == "indicators.rsi_14.period" and "out of range" in problem["message"]
    line = MISTAKE.splitlines()[problem["line"] - 1]
    assert line.strip() == "period: 1" and line.index("period") + 1 == problem["column"]
    assert calls[1][2]["valid"] and calls[1][2]["saved"] == "strategies/rsi.yaml"
    first, second = calls[2][2], calls[4][2]
    for run in (first, second):
        assert run["verdict"]["verdict"] and run["verdict"]["reasons"], run
        assert (tmp_path / run["path"] / "report.json").is_file()
        assert run["metrics"]["total_trades"] > 0
    # every trial counts: the second verdict's deflated Sharpe ratio counts both research runs
    assert first["ledger"]["trials"] == 1 and first["ledger"]["new_trial"]
    assert second["ledger"]["trials"] == 2 and second["sharpe_statistics"]["trials"] == 2
    compared = calls[5][2]
    assert [r["run_id"] for r in compared["runs"]] == [first["run_id"], second["run_id"]]
    sharpe = compared["metrics"]["sharpe_ratio"]
    assert sharpe == {first["run_id"]: first["metrics"]["sharpe_ratio"],
                      second["run_id"]: second["metrics"]["sharpe_ratio"]}  # fmt: skip
    assert calls[6][2]["trials"] == 2 and calls[6][2]["entries"] == 2
    assert not any((tmp_path / ".partial").rglob("*.*"))  # no run or scratch file left


def test_backtest_and_sweep_count_every_trial(tmp_path, trained):
    model = trained(tmp_path)
    bt, again, sw, runs, led = call(
        tmp_path,
        ("backtest", {"model": model, "config": {"commission": 0.0002}}),
        ("backtest", {"model": model, "config": {"commission": 0.0002}}),  # a repeat
        ("sweep", {"model": model, "grid": {"commission": [0.0, 0.0001, 0.0002]}, "top": 2}),
        ("list_runs", {"sort_by": "max_drawdown"}),
        ("ledger", {}),
    )  # fmt: skip
    assert bt["ledger"]["new_trial"] is True and bt["ledger"]["trials"] == 1
    assert again["ledger"]["new_trial"] is False and again["ledger"]["trials"] == 1
    assert again["run_id"] != bt["run_id"] and again["metrics"] == bt["metrics"]
    assert sw["ledger"]["trials"] == 4 and len(sw["best"]) == 2 and sw["combinations"] == 3
    assert bt["funnel"]["signals_passed"] >= bt["funnel"]["signals_executed"] > 0
    assert sorted(r["kind"] for r in runs["runs"]) == ["backtest", "backtest", "sweep"]
    drawdowns = [r["metrics"]["max_drawdown"] for r in runs["runs"]]
    assert drawdowns == sorted(drawdowns)  # lower is better: the best first
    assert led["trials"] == 4 and led["entries"] == 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A function giving a workspace a trained model (trained once per module)."""
    import shutil

    import vbt

    root = tmp_path_factory.mktemp("model")
    raw = json.loads(json.dumps(__import__("yaml").safe_load(STRATEGY)))
    out = Path(vbt.train(raw, data_dir=DATA, symbol="EURUSD", out_dir=root, progress=False))

    def into(workspace: Path) -> str:
        dest = workspace / "models" / "rsi"
        shutil.copytree(out, dest)
        return "models/rsi"

    return into


def test_get_run_and_report_by_id(tmp_path, trained):
    model = trained(tmp_path)
    [bt] = call(tmp_path, ("backtest", {"model": model}))
    [sw] = call(tmp_path, ("sweep", {"model": model, "grid": {"slippage": [0.0, 0.0001]}}))
    one, page, rep = call(
        tmp_path,
        ("get_run", {"run_id": bt["run_id"], "limit": 2}),
        ("get_run", {"run_id": sw["run_id"], "offset": 1, "limit": 1}),
        ("report", {"run_id": sw["run_id"]}),
    )  # fmt: skip
    assert one["kind"] == "backtest" and one["metrics"] == bt["metrics"]
    assert len(one["trades"]) == min(2, one["trades_total"]) and one["trades_offset"] == 0
    assert page["kind"] == "sweep" and page["rows_total"] == 2 and len(page["rows"]) == 1
    assert (tmp_path / rep["report"]).read_text().startswith("<!DOCTYPE html>")


# -- bad arguments: one line naming the argument -----------------------------------------------

BAD = [
    ("backtest", {}, "model: field required"),
    ("backtest", {"model": 3}, "model = 3: input should be a valid string"),
    ("backtest", {"model": "models/none"}, "model = 'models/none': no such file or folder"),
    ("backtest", {"model": "models", "config": {"commission": -1}}, "commission = -1"),
    ("backtest", {"model": "models", "config": {"bogus": 1}}, "bogus: unknown key"),
    ("backtest", {"model": "models", "config": {"model_path": "x"}}, "config.model_path: set by"),
    ("backtest", {"model": "models", "config": {"feature_cache_dir": "/tmp/x"}}, "config.feature_cache_dir: set by the server"),
    ("backtest", {"model": "models", "config": {"slippage": "a lot"}}, "config.slippage = 'a lot'"),
    ("backtest", {"model": "models", "modle": "x"}, "'modle': not an argument; arguments: model, config"),
    ("research", {"strategy": "s.yaml", "walkforward": 3}, "'walkforward': not an argument"),
    ("research", {"strategy": "s.yaml", "config": {"feature_cache_dir": "c"}}, "config.feature_cache_dir: set by the server"),
    ("list_runs", {"limt": 5}, "'limt': not an argument"),
    ("get_run", {"run_id": "x" * 5000}, "must be a run id"),
    ("backtest", {"model": "m" * 5000}, "not a usable path"),
    ("sweep", {"model": "models", "grid": "x"}, "grid = 'x': input should be a valid dictionary"),
    ("sweep", {"model": "models", "grid": {"commission": [0.0]}, "top": 0}, "top = 0"),
    ("sweep", {"model": "models", "grid": {"commission": [0.0]}, "by": "sharp"}, "by = 'sharp': not a metric"),
    ("train", {"strategy": "strategies/none.yaml"}, "strategy = 'strategies/none.yaml': no such"),
    ("research", {"strategy": 1.5}, "strategy = 1.5: input should be a valid string"),
    ("research", {"strategy": "s.yaml", "walk_forward": "two"}, "walk_forward = 'two'"),
    ("batch", {"spec": ""}, "spec = '': must be a path inside the workspace"),
    ("validate_strategy", {"yaml": ""}, "yaml: must be the strategy's YAML text"),
    ("validate_strategy", {"yaml": "a: [1"}, None),  # answered, not refused: see below
    ("save_strategy", {"yaml": STRATEGY, "name": "../up"}, "name = '../up': must be a plain folder name"),
    ("get_run", {"run_id": "nope"}, "run_id = 'nope': no such run"),
    ("get_run", {"run_id": "../strategies"}, "run_id = '../strategies': must be a run id"),
    ("list_runs", {"kind": "movie"}, "kind = 'movie': must be backtest, sweep, research or batch"),
    ("list_runs", {"limit": 0}, "limit = 0: must be an integer in [1, 1,000]"),
    ("list_runs", {"sort_by": "sharpe"}, "sort_by = 'sharpe': not a metric"),
    ("compare_runs", {"run_ids": ["a"]}, "run_ids = ['a']: must be a list of 2 to 50 run ids"),
    ("compare_runs", {"run_ids": ["a", "b"], "metrics": ["pnl"]}, "metrics: 'pnl': not a metric"),
    ("report", {"run_id": ""}, "run_id = '': must be a run id"),
]  # fmt: skip


def test_bad_arguments_are_one_line_naming_the_argument(tmp_path):
    (tmp_path / "s.yaml").write_text(STRATEGY)
    answers = call(tmp_path, *[(tool, args) for tool, args, _ in BAD])
    for (tool, args, message), got in zip(BAD, answers, strict=True):
        if message is None:  # a YAML syntax error is a problem of the text, with its place
            [problem] = got["problems"]
            assert got["valid"] is False and problem["line"] == 1, got
            continue
        assert set(got) == {"error"}, (tool, args, got)
        text = got["error"]
        assert "\n" not in text and text.startswith(f"Error executing tool {tool}: "), text
        assert message in text, (tool, args, text)


OUTSIDE = [
    ("batch", {"spec": "specs/model_out.yaml"}, "spec.jobs[0].model = "),
    ("batch", {"spec": "specs/data_out.yaml"}, "spec.defaults.data_dir = '/etc': outside the data folder"),
    ("batch", {"spec": "specs/cache.yaml"}, "spec.jobs[0].config.feature_cache_dir: set by the server"),
    ("backtest", {"model": "../elsewhere"}, "model = '../elsewhere': outside the workspace"),
    ("backtest", {"model": "/etc"}, "model = '/etc': outside the workspace"),
    ("train", {"strategy": "../s.yaml"}, "strategy = '../s.yaml': outside the workspace"),
    ("research", {"strategy": "strategies/../../s.yaml"}, "outside the workspace"),
    ("batch", {"spec": "/tmp"}, "spec = '/tmp': outside the workspace"),
    ("backtest", {"model": "link"}, "model = 'link': outside the workspace"),
]  # fmt: skip


def test_paths_outside_the_workspace_are_refused(tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (tmp_path / "s.yaml").write_text(STRATEGY)
    (workspace / "link").symlink_to(tmp_path)  # a link out of the workspace is outside too
    specs = workspace / "specs"
    specs.mkdir()
    (specs / "model_out.yaml").write_text("jobs:\n  - model: ../../elsewhere\n")
    (specs / "data_out.yaml").write_text("defaults: {data_dir: /etc}\njobs:\n  - model: x\n")
    (specs / "cache.yaml").write_text("jobs:\n  - config: {feature_cache_dir: c}\n")
    answers = call(workspace, *[(tool, args) for tool, args, _ in OUTSIDE])
    for (tool, _, message), got in zip(OUTSIDE, answers, strict=True):
        assert message in got["error"] and "\n" not in got["error"], (tool, got)
    assert sorted(p.name for p in workspace.iterdir()) == [
        "link",
        "models",
        "runs",
        "specs",
        "strategies",
    ]


# -- cancellation ------------------------------------------------------------------------------


def test_a_cancelled_research_leaves_nothing_half_written(tmp_path):
    (tmp_path / "strategies").mkdir()
    slow = STRATEGY.replace("epochs: 5", "epochs: 400").replace("patience: 5", "patience: 400")
    (tmp_path / "strategies" / "slow.yaml").write_text(slow)
    seen: list[str] = []
    begun: list[Path] = []  # what the run had written when it was cancelled
    running: list[str] = []

    async def go():
        async with Client(server(tmp_path), read_timeout_seconds=600) as c:
            with anyio.CancelScope() as scope:

                async def progress(done, total, message):
                    seen.append(message or "")
                    if not running:
                        running.extend(_run_processes())  # the run's own process, alive
                    if done >= 8:  # seconds into the run: cancelled mid-training
                        begun.extend((tmp_path / "models").rglob("*"))
                        scope.cancel()

                await c.call_tool("research", {"strategy": "strategies/slow.yaml"},
                                  progress_callback=progress)  # fmt: skip
            assert scope.cancelled_caught, seen
            await anyio.sleep(2)  # the server kills the run and removes what it wrote
            during = _run_processes()
            return (answer(await c.call_tool("list_runs", {})),
                    answer(await c.call_tool("ledger", {})), during)  # fmt: skip

    runs, ledger, runs_after_close = anyio.run(go)
    assert seen and seen[0].startswith("research: "), seen  # progress arrived while it ran
    assert begun, "cancelled before the run wrote anything: the test proves nothing"
    assert running, "the check for a process left behind would find none in any case"
    assert runs == {"runs": [], "total": 0}
    assert ledger["trials"] == 0
    assert list((tmp_path / "runs").iterdir()) == [] and list((tmp_path / "models").iterdir()) == []
    assert not (tmp_path / ".partial").exists() or not any((tmp_path / ".partial").iterdir())
    assert runs_after_close == [], runs_after_close


def _run_processes() -> list[str]:
    """Command lines of this test's descendants that run a spawned multiprocessing child (the
    server's run processes)."""
    procs = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError):
                continue
            if stat[0] not in ("Z", "X"):
                procs[int(proc.name)] = (int(stat[1]), cmd)
    found = []
    for pid, (_, cmd) in procs.items():
        up = pid
        while up in procs and up != os.getpid():
            up = procs[up][0]
        if up == os.getpid() and "spawn_main" in cmd:
            found.append(cmd)
    return found


# -- streamable HTTP ---------------------------------------------------------------------------


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server(tmp_path):
    def start(*extra: str, token: str | None = None):
        port = _port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("VBT_MCP_TOKEN", None)
        if token:
            env["VBT_MCP_TOKEN"] = token
        proc = subprocess.Popen(
            [sys.executable, "-m", "vbt.cli", "mcp", "--workspace", str(tmp_path), "--data-dir",
             str(DATA), "--http", f"127.0.0.1:{port}", *extra],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return f"http://127.0.0.1:{port}/mcp"
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                time.sleep(0.2)
        raise AssertionError("vbt mcp --http did not start")

    procs: list[subprocess.Popen] = []
    yield start
    for p in procs:
        p.terminate()
        p.wait(20)


def test_one_session_over_streamable_http(http_server):
    url = http_server()

    async def go():
        async with Client(url, read_timeout_seconds=120) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            checked = answer(await c.call_tool("validate_strategy", {"yaml": STRATEGY}))
            bad = answer(await c.call_tool("backtest", {"model": "../x"}))
            return names, checked, bad

    names, checked, bad = anyio.run(go)
    assert names == TOOLS
    assert checked["valid"] and checked["features"][0] == "1h_rsi_14_oversold"
    assert "outside the workspace" in bad["error"]


def test_http_with_a_token_refuses_a_client_without_it(http_server):
    url = http_server(token="s3cret")
    r = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert r.status_code == 401 and "bearer token" in r.text

    async def go():
        import httpx2

        async with httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"}) as http:
            from mcp.client.streamable_http import streamable_http_client

            async with Client(streamable_http_client(url, http_client=http)) as c:
                return {t.name for t in (await c.list_tools()).tools}

    assert anyio.run(go) == TOOLS


def test_http_beyond_loopback_needs_a_token(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "vbt.cli", "mcp", "--workspace", str(tmp_path), "--http",
         "0.0.0.0:8765"],
        env={**{k: v for k, v in os.environ.items() if k != "VBT_MCP_TOKEN"},
             "PYTHONPATH": str(ROOT)},
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "error: --http 0.0.0.0:8765: not a loopback address; set VBT_MCP_TOKEN (a bearer token "
        "clients must send) to serve other machines"
    ]
