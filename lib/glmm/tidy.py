"""A GLMM fit as ``broom.mixed::tidy(fit, conf.int = TRUE)`` lays it out (numbers only).

Columns ``effect``, ``group``, ``term``, ``estimate``, ``std.error``, ``statistic``
(Wald z), ``p.value`` (two-sided normal), then ``conf.low`` and ``conf.high`` when
intervals are given (broom.mixed's default is Wald; pass profile ones for
``conf.method = "profile"``). Rows: fixed effects, then per random term its SDs and
correlations (``sd__(Intercept)``, ``cor__(Intercept).x``); a GLMM has no
``sd__Observation`` row. ``exponentiate = True`` gives exp() of the fixed
estimates and limits (odds or rate ratios) as broom.mixed's ``exponentiate``,
with the standard error by the delta method (exp(b) SE).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.errors import SpecError
from lib.glmm.intervals import parameter_rows
from lib.glmm.result import GlmmFit
from lib.lmm.intervals import Intervals

COLUMNS = ("effect", "group", "term", "estimate", "std.error", "statistic", "p.value")


def tidy(
    fit: GlmmFit, intervals: Intervals | None = None, exponentiate: bool = False
) -> pd.DataFrame:
    """broom.mixed's ``tidy()`` of a glmer fit (see the module docstring)."""
    se = dict(zip(fit.fixef_names, fit.se, strict=True))
    z = dict(zip(fit.fixef_names, fit.z, strict=True))
    p = dict(zip(fit.fixef_names, fit.p_value, strict=True))
    rows = []
    for effect, group, term, estimate in parameter_rows(fit):
        if effect == "fixed":
            rows.append((effect, group, term, estimate, se[term], z[term], p[term]))
        else:
            rows.append((effect, group, term, estimate, np.nan, np.nan, np.nan))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["group"] = pd.Series([row[1] for row in rows], dtype=object)  # None, not NaN
    if intervals is not None:
        found = {(r.group, r.term): r for r in intervals.rows}
        keys = [(row[1], row[2]) for row in rows]
        if set(keys) != set(found):
            raise SpecError("The intervals are of another model (their parameters differ).")
        frame["conf.low"] = [found[k].conf_low for k in keys]
        frame["conf.high"] = [found[k].conf_high for k in keys]
    if exponentiate:
        fixed = frame["effect"] == "fixed"
        ratio = np.exp(frame.loc[fixed, "estimate"])
        frame.loc[fixed, "std.error"] = frame.loc[fixed, "std.error"] * ratio
        frame.loc[fixed, "estimate"] = ratio
        for column in ("conf.low", "conf.high"):
            if column in frame:
                frame.loc[fixed, column] = np.exp(frame.loc[fixed, column])
    return frame
