"""Plain-language notes about how a fit was computed (plain text; the caller escapes
user-supplied names for its medium)."""

from __future__ import annotations

import numpy as np

from lib.lmm.result import LmmFit


def _join(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def conditioning_note(fit: LmmFit) -> str | None:
    """One sentence saying which columns were centred/scaled for the search, or None.

    ``lib.lmm.conditioning`` centres and scales badly scaled columns (a ``year`` near
    2000, an outcome in millions) while the optimiser searches, then maps every number
    back; this says so, naming the columns and what was done to each.
    """
    cond = fit.conditioning
    if not cond.applied:
        return None
    actions: dict[str, tuple[bool, bool]] = {}
    if cond.y_scale != 1.0 or cond.y_centre != 0.0:
        actions[f"the outcome {fit.spec.outcome}"] = (cond.y_centre != 0.0, cond.y_scale != 1.0)
    centre, scale = np.asarray(cond.centre, float), np.asarray(cond.scale, float)
    for j, name in enumerate(fit.fixef_names):
        if j < centre.size and (centre[j] != 0.0 or scale[j] != 1.0):
            actions[name] = (centre[j] != 0.0, scale[j] != 1.0)
    for name, s in cond.slope_scale.items():
        if name in actions:
            continue
        # A random slope is shifted only where its term has a correlated intercept
        # (lib.lmm.conditioning.term_map); elsewhere it is only scaled.
        shifted = (
            any(name in t.slopes and t.intercept and t.correlated for t in fit.spec.random)
            and cond.slope_centre.get(name, 0.0) != 0.0
        )
        actions[name] = (shifted, s != 1.0)
    if not actions:
        return None
    phrases = {
        (True, True): "centred and scaled",
        (True, False): "centred",
        (False, True): "scaled",
    }
    clauses = []
    for key, phrase in phrases.items():
        names = [n for n, a in actions.items() if a == key]
        if names:
            verb = "was" if len(names) == 1 else "were"
            clauses.append(f"{_join(names)} {verb} {phrase}")
    return (
        f"To keep the optimiser's search well conditioned, {_join(clauses)} while "
        "fitting; every number shown is mapped back and reported in the original units."
    )
