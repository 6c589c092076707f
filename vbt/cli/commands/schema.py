"""``vbt schema``: the JSON Schema of a file vbt reads."""

from __future__ import annotations

import argparse
import json


def run(args: argparse.Namespace) -> int:
    from vbt.batches.spec import batch_schema  # vbt.batches: not needed by the parser

    print(json.dumps(batch_schema(), indent=2))
    return 0
