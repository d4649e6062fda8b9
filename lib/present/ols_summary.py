"""The rest of ``summary(lm(...))`` for the separate regressions, and their equations.

``lib.present.summary.per_group_long`` has each group's coefficient table; this module
adds the lines R prints under it (residual quantiles, residual standard error,
multiple and adjusted R², the F test) as one row per group, and each group's
fitted line as an equation (the tutorial's ``30.853 + 1.949 study_time``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lib.ols.regressions import OlsFit, PerGroupOls
from lib.present.equations import group_equations

QUANTILE_NAMES = ("Min", "1Q", "Median", "3Q", "Max")


def per_group_statistics(per_group: PerGroupOls) -> pd.DataFrame:
    """One row per group: n, residual quantiles and the last three lines of ``summary.lm``.

    Columns: n, Min, 1Q, Median, 3Q, Max (residuals, R's type-7 quantiles),
    Residual SE, df, R-squared, Adj. R-squared, F, num df, den df, p-value (of F).
    """
    rows = []
    for fit in per_group.fits:
        rows.append(
            {
                "n": fit.nobs,
                **dict(zip(QUANTILE_NAMES, np.asarray(fit.resid_quantiles, float), strict=True)),
                "Residual SE": fit.sigma,
                "df": fit.df_resid,
                "R-squared": fit.r2,
                "Adj. R-squared": fit.adj_r2,
                "F": fit.fstat,
                "num df": fit.f_df_num,
                "den df": fit.f_df_den,
                "p-value": fit.f_p,
            }
        )
    return pd.DataFrame(rows, index=pd.Index(list(per_group.levels), name=per_group.group))


def separate_equations(per_group: PerGroupOls) -> list[tuple[str, str]]:
    """Each group's own regression line, ``(level, LaTeX)``; aliased slopes left out."""
    intercepts, slopes = [], []
    for fit in per_group.fits:
        intercepts.append(float(fit.coef[0]))
        slopes.append(_slopes(fit))
    return group_equations(per_group.levels, intercepts, slopes)


def dummy_equations(
    fit: OlsFit, levels: Sequence[str], group_coef: Sequence[float]
) -> list[tuple[str, str]]:
    """The dummy-variable model written per group, as the tutorial does: the reference
    group's line, then ``30.853 + 1.949 x - 8.519 = 22.334 + 1.949 x`` for the others.

    ``group_coef`` holds each level's dummy coefficient (0 for the reference level,
    first); ``fit`` is ``lm(y ~ x + group)`` with the numeric slopes before the dummies.
    """
    slopes = _slopes(fit, exclude_prefix=len(levels) - 1)
    offsets = [None if k == 0 else float(c) for k, c in enumerate(group_coef)]
    return group_equations(
        levels, [float(fit.coef[0])] * len(levels), [slopes] * len(levels), offsets
    )


def _slopes(fit: OlsFit, exclude_prefix: int = 0) -> list[tuple[str, float]]:
    """(name, coefficient) of the non-intercept terms, without the last
    ``exclude_prefix`` (dummy) columns and without aliased ones."""
    stop = len(fit.names) - exclude_prefix
    return [
        (name, float(fit.coef[k]))
        for k, name in enumerate(fit.names[:stop])
        if k > 0 and not fit.aliased[k]
    ]
