"""vbt as a Model Context Protocol server (``vbt mcp``): an agent designs, validates, trains,
backtests, sweeps and researches strategies through typed tools, inside one workspace whose trial
ledger counts every trial it makes.

- ``workspace.py``: the folder an agent works in (paths confined to it, runs written whole);
- ``catalog.py``: indicators, bar files, the strategy schema, examples;
- ``strategies.py``: strategy YAML checked with each problem's key, line and column;
- ``runs.py``: the runs and what is read back (get, list, compare, report, the ledger);
- ``server.py``: the SDK server, its tools, resources and prompt, and the transports.
"""
