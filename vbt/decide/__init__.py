"""Decision rules (one Numba copy, shared with the scan) and the per-bar ``DecisionFunction``.

Importing this package does not import torch.
"""

from vbt.decide.function import Decision, DecisionFunction, DecisionParams, to_ns
from vbt.decide.rules import classify_nb, decide_nb, regress_nb

__all__ = [
    "Decision",
    "DecisionFunction",
    "DecisionParams",
    "classify_nb",
    "decide_nb",
    "regress_nb",
    "to_ns",
]
