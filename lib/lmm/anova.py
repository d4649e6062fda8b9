"""Likelihood-ratio comparison of nested mixed models, as lme4's ``anova()``.

lme4 1.1-31's ``anova.merMod`` (refit = TRUE) refits every REML fit with ML
before comparing, sorts the models by number of parameters, and reports
Chisq = 2 max(0, diff(logLik)) on diff(npar) degrees of freedom; a REML
criterion is only comparable between models with identical fixed effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from scipy import special

from lib.errors import SpecError
from lib.lmm.fit import fit_lmm
from lib.lmm.result import LmmFit
from lib.model.spec import ModelSpec
from lib.table.columns import complete_rows


@dataclass(frozen=True, eq=False)
class AnovaRow:
    """One model's line of the comparison table (ML quantities when refitted).

    Attributes
    ----------
    formula : str
    npar : int
    aic, bic, loglik, deviance : float
    chisq, df, p : float
        Against the previous row; NaN on the first row (and p NaN when df is 0).
    """

    formula: str
    npar: int
    aic: float
    bic: float
    loglik: float
    deviance: float
    chisq: float
    df: float
    p: float


@dataclass(frozen=True, eq=False)
class Anova:
    """lme4-style model comparison.

    Attributes
    ----------
    rows : tuple of AnovaRow
        Sorted by number of parameters.
    refitted_ml : bool
        True when REML fits were refitted with ML (lme4's default).
    fits : tuple of LmmFit
        The fits compared (ML refits where refitted), in ``rows`` order.
    """

    rows: tuple[AnovaRow, ...]
    refitted_ml: bool
    fits: tuple[LmmFit, ...]


def anova(frame: pd.DataFrame, specs: Sequence[ModelSpec], refit: bool = True) -> Anova:
    """Compare nested models fitted to the same rows.

    Parameters
    ----------
    frame : DataFrame
    specs : sequence of ModelSpec
        At least two; they must use the same outcome.
    refit : bool
        Refit REML specs with ML first, as lme4 does by default.
    """
    if len(specs) < 2:
        raise SpecError(f"A comparison needs at least 2 models, got {len(specs)}.")
    outcomes = {s.outcome for s in specs}
    if len(outcomes) != 1:
        raise SpecError(f"Models can only be compared on the same outcome; got {sorted(outcomes)}.")
    used = list(dict.fromkeys(c for s in specs for c in s.columns))
    # All models must see the same rows (lme4 refuses different data sizes): the
    # rows complete in every column any model uses, by the one rule of lib.table.columns.
    complete, _ = complete_rows(frame, used)
    refitted = refit and any(s.reml for s in specs)
    fits = [fit_lmm(complete, s.with_changes(reml=False) if refit else s) for s in specs]
    return compare_fits(fits, refitted)


def compare_fits(fits: Sequence[LmmFit], refitted_ml: bool = False) -> Anova:
    """The anova table for already fitted models (no refitting)."""
    order = sorted(range(len(fits)), key=lambda k: fits[k].npar)  # stable, as R's order()
    ordered = [fits[k] for k in order]
    rows = []
    for k, fit in enumerate(ordered):
        if k == 0:
            chisq = df = p = float("nan")
        else:
            prev = ordered[k - 1]
            chisq = 2.0 * max(0.0, fit.loglik - prev.loglik)
            df = float(fit.npar - prev.npar)
            p = float(special.chdtrc(df, chisq)) if df != 0 else float("nan")  # chi2 sf
        rows.append(
            AnovaRow(
                formula=fit.formula,
                npar=fit.npar,
                aic=fit.aic,
                bic=fit.bic,
                loglik=fit.loglik,
                deviance=-2.0 * fit.loglik,
                chisq=chisq,
                df=df,
                p=p,
            )
        )
    nobs = {f.nobs for f in fits}
    if len(nobs) != 1:
        raise SpecError(f"Models were fitted to different numbers of rows: {sorted(nobs)}.")
    return Anova(rows=tuple(rows), refitted_ml=refitted_ml, fits=tuple(ordered))


__all__ = ["Anova", "AnovaRow", "anova", "compare_fits"]
