"""Decision rules (one Numba copy, shared with the scan) and the per-bar ``DecisionFunction``.

Importing this package does not import torch.
"""

from vbt.decide.function import Decision, DecisionFunction, to_ns
from vbt.decide.rules import classify_nb, decide_nb, regress_nb, regress_one_nb
from vbt.params import DecisionParams

__all__ = [
    "Decision",
    "DecisionFunction",
    "DecisionParams",
    "classify_nb",
    "decide_nb",
    "regress_nb",
    "regress_one_nb",
    "to_ns",
]
