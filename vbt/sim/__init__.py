"""The scan: record dtypes, the Numba kernel and its chunked driver (checkpoints, resume)."""

from vbt.sim.nb import scan_chunk_nb
from vbt.sim.records import PARAMS_DTYPE, STATE_DTYPE, TRADE_DTYPE, new_state
from vbt.sim.runner import (
    Checkpoint,
    ScanInputs,
    ScanParams,
    ScanResult,
    load_checkpoint,
    run_scan,
    save_checkpoint,
)

__all__ = [
    "PARAMS_DTYPE",
    "STATE_DTYPE",
    "TRADE_DTYPE",
    "Checkpoint",
    "ScanInputs",
    "ScanParams",
    "ScanResult",
    "load_checkpoint",
    "new_state",
    "run_scan",
    "save_checkpoint",
    "scan_chunk_nb",
]
