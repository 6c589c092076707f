"""``vbt mcp``: the Model Context Protocol server over stdio or streamable HTTP."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from vbt.mcp.server import serve  # the MCP SDK: not needed by the parser

    serve(workspace=args.workspace, data_dir=args.data_dir, http=args.http)
    return 0
