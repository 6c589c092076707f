"""The scan: record dtypes, the Numba kernel and its chunked driver (checkpoints, resume)."""

from vbt.sim.nb import scan_bars_nb, scan_chunk_nb
from vbt.sim.records import (
    ACC_DTYPE,
    PARAMS_DTYPE,
    STATE_DTYPE,
    TRADE_DTYPE,
    new_acc,
    new_state,
    params_records,
)
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
    "ACC_DTYPE",
    "PARAMS_DTYPE",
    "STATE_DTYPE",
    "TRADE_DTYPE",
    "Checkpoint",
    "ScanInputs",
    "ScanParams",
    "ScanResult",
    "load_checkpoint",
    "new_acc",
    "new_state",
    "params_records",
    "run_scan",
    "save_checkpoint",
    "scan_bars_nb",
    "scan_chunk_nb",
]
