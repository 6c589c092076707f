"""What the ``vbt`` script may do in a process of its own (``script``, ``python -m vbt.cli``):
``own_process`` freezes the heap once torch and Numba are loaded, and lets ``script`` end the
process without interpreter teardown (``LEAVE_AT_ONCE``). Called as a library
(``main(argv)``), neither happens."""

from __future__ import annotations

import argparse
import gc

#: set by ``own_process``: the ``vbt`` script may end without interpreter teardown
LEAVE_AT_ONCE = False


def own_process(args: argparse.Namespace) -> None:
    """For ``vbt backtest`` in a process that vbt owns (``args.owns_process``), once its inputs are
    checked (a bad one is reported without waiting for torch):

    - import torch and Numba, then ``gc.freeze()``: everything imported so far (a few hundred
      thousand objects, torch's mostly) lives as long as the process, and Python's cyclic garbage
      collector would otherwise walk all of it again at every full collection during the run
      (0.2-0.3 s of a short backtest on a 2-core machine). Frozen objects are left out of cyclic
      collection for good, hence never in someone else's process;
    - let ``script`` end the process without interpreter teardown: a backtest closes every file
      it writes and starts no process, thread or server that would need stopping."""
    global LEAVE_AT_ONCE
    if not getattr(args, "owns_process", False):
        return
    import numba  # noqa: F401
    import torch  # noqa: F401

    gc.freeze()
    LEAVE_AT_ONCE = True
