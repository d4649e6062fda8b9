"""The record of what the theta search did (MixedModels.jl keeps it as ``OptSummary``,
``src/optsummary.jl``; lme4 as ``@optinfo``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class OptimizerSummary:
    """What the optimizer did.

    Attributes
    ----------
    method : str
        The stages that ran, in order, as one line (``"; "`` between stages).
    converged : bool
        True when the first search reported success (or Newton steps converged)
        and the criterion is finite.
    n_evaluations : int
        Criterion evaluations (a gradient counts as one; a batch as its size).
    message : str
        The first search's own messages (L-BFGS-B's, BOBYQA's).
    theta_start, theta_final : ndarray
        Starting and final relative covariance parameters.
    stages : tuple of str
        The stages that ran, in order (what ``method`` joins).
    """

    method: str
    converged: bool
    n_evaluations: int
    message: str
    theta_start: np.ndarray
    theta_final: np.ndarray
    stages: tuple[str, ...] = ()


def gradient_kind(exact: int, differences: int) -> str:
    """How a stage's gradients were computed, from counts of each kind."""
    if differences == 0:
        return "exact gradient"
    if exact == 0:
        return "central differences"
    return "exact gradient, central differences where a variance is at 0"
