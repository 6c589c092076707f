"""The sweep kernel: the scan of ``vbt.sim.nb`` for many parameter sets at once, in parallel.

Each combination runs ``scan_bars_nb`` (the one copy of the per-bar rules) over the same bars with
its own parameter, state and accumulator records, and writes no per-bar outputs: a sweep keeps
only the running metric state of each combination.
"""

from numba import njit, prange

from vbt.sim.nb import scan_bars_nb


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def sweep_chunk_nb(
    stop, ts_ns, open_, close, raw, confidence, value, params, states, accs,
    no_trades, no_equity, no_position,
):  # fmt: skip
    """Advance every combination to bar ``stop`` (see ``scan_bars_nb``).

    params: PARAMS_DTYPE[m]; states: STATE_DTYPE[m] and accs: ACC_DTYPE[m], updated in place
    (all at the same ``next_bar``); no_trades / no_equity / no_position: empty arrays of the output
    dtypes (nothing is written to them). Combinations run in parallel over Numba's threads.
    """
    for c in prange(params.shape[0]):
        scan_bars_nb(
            stop, ts_ns, open_, close, raw, confidence, value, params[c], states[c], accs[c],
            no_trades, no_equity, no_position, False,
        )  # fmt: skip
