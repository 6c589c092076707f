"""A scripted agent session against ``vbt mcp``, through the MCP SDK's own client.

The agent writes a strategy with a mistake, reads the error, fixes it, researches it, changes one
thing, researches again and compares the two runs. ``run_session`` returns every call with its
answer (the test asserts on them); run as a script, it prints the transcript the README shows::

    python tests/mcp/session.py WORKSPACE
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data_fixtures"

#: the fixtures' single-timeframe strategy, made quick (2 epochs) and trading (threshold 0)
STRATEGY = (
    (DATA / "strategies" / "rsi_single_tf.yaml")
    .read_text()
    .replace("epochs: 30", "epochs: 5")
    .replace("confidence_threshold: 0.5", "confidence_threshold: 0.0")
)
MISTAKE = STRATEGY.replace("period: 14", "period: 1")  # RSI needs a period of at least 2
CHANGED = STRATEGY.replace("name: rsi_single_tf", "name: rsi_fast").replace(
    "period: 14", "period: 7"
)


def server(workspace: Path, data_dir: Path = DATA) -> StdioServerParameters:
    """``vbt mcp`` over stdio, as an MCP client configuration starts it."""
    env = {"PYTHONPATH": str(ROOT)}
    for name in ("NUMBA_CACHE_DIR", "PATH", "HOME"):
        if name in os.environ:
            env[name] = os.environ[name]
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "vbt.cli", "mcp", "--workspace", str(workspace), "--data-dir", str(data_dir)],
        env=env,
        cwd=str(ROOT),
    )


def answer(result: Any) -> Any:
    """A tool's answer: its JSON (structured content), or its one-line error text."""
    if result.is_error:
        return {"error": result.content[0].text}
    if result.structured_content is not None:
        return result.structured_content
    return json.loads(result.content[0].text)


async def session(target: Any) -> list[tuple[str, dict, Any]]:
    """The session against ``target``: a ``vbt mcp`` to start over stdio
    (``StdioServerParameters``) or the URL of one serving streamable HTTP."""
    calls: list[tuple[str, dict, Any]] = []

    async with Client(target, read_timeout_seconds=600) as c:

        async def call(tool: str, **args: Any) -> Any:
            out = answer(await c.call_tool(tool, args))
            calls.append((tool, args, out))
            return out

        await call("validate_strategy", yaml=MISTAKE)
        await call("save_strategy", yaml=STRATEGY, name="rsi")
        first = await call("research", strategy="strategies/rsi.yaml", simulations=50)
        await call("save_strategy", yaml=CHANGED, name="rsi_fast")
        second = await call("research", strategy="strategies/rsi_fast.yaml", simulations=50)
        if "run_id" in first and "run_id" in second:
            await call("compare_runs", run_ids=[first["run_id"], second["run_id"]])
        await call("ledger")
    return calls


def run_session(target: Any) -> list[tuple[str, dict, Any]]:
    """The session against ``target``: a workspace folder (``vbt mcp`` started over stdio) or a
    URL (a ``vbt mcp --http`` already serving)."""
    return anyio.run(session, server(target) if isinstance(target, Path) else target)


def transcript(calls: list[tuple[str, dict, Any]]) -> str:
    """The calls as the README shows them: the arguments (strategy text cut), the answer's
    main fields."""
    lines = []
    for tool, args, out in calls:
        shown = {k: (v if k != "yaml" else f"<{len(v.splitlines())} lines of YAML>")
                 for k, v in args.items()}  # fmt: skip
        lines.append(f"→ {tool} {json.dumps(shown)}")
        if isinstance(out, dict) and "error" in out:
            view = out
        elif tool == "research":
            view = {k: out.get(k) for k in ("run_id", "verdict", "ledger")}
            view["metrics"] = {k: out["metrics"].get(k) for k in ("total_trades", "sharpe_ratio")}
        elif tool in ("validate_strategy", "save_strategy"):
            view = {k: out.get(k) for k in ("valid", "problems", "saved")}
        else:
            view = out
        lines.append("← " + json.dumps(view, default=str))
    return "\n".join(lines)


if __name__ == "__main__":
    print(transcript(run_session(Path(sys.argv[1]))))
