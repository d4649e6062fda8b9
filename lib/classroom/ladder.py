"""The tutorial's model ladder as one table of numbers.

Null model -> random intercept -> random slope -> random intercept and slope
(the tutorial's four mixed models), next to the two OLS strategies (complete
pooling ``lm(y ~ x)``, no pooling ``lm(y ~ x + g)``). Every model is fitted to
the same complete rows.

Each mixed step's likelihood-ratio test is against the step it extends, with
both models refitted by maximum likelihood as lme4's ``anova()`` does
(Chisq = 2 max(0, diff logLik) on diff(npar) df): the random intercept extends
the null model by a fixed slope, the intercept-and-slope model extends the
random intercept by a random slope and its correlation. The random-slope model
(``1 + (0 + x | g)``) is not nested in either earlier step, so it gets no test
and is compared by AIC/BIC. AIC, BIC and logLik are from the ML fits, so all
rows (OLS included: R's ``logLik.lm``) are comparable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.lmm import LmmFit, compare_fits, fit_lmm
from lib.model.spec import ModelSpec
from lib.ols.regressions import OlsFit, fit_ols
from lib.table.columns import complete_rows

NULL, RI, RS, FULL = "Null model", "Random intercept", "Random slope", "Random intercept and slope"
COMPLETE_OLS, DUMMY_OLS = "OLS: one line (complete pooling)", "OLS: group dummies (no pooling)"
MIXED = (NULL, RI, RS, FULL)
PARENT = {NULL: None, RI: NULL, RS: None, FULL: RI}


@dataclass(frozen=True, eq=False)
class LadderStep:
    """One row of the ladder.

    Attributes
    ----------
    name, formula : str
    kind : str
        ``"mixed"`` or ``"ols"``.
    npar : int
        Parameters as lme4 / R's ``logLik`` count them (sigma included).
    criterion : float
        REML criterion (or ML deviance) of the fit as specified; NaN for OLS.
    aic, bic, loglik : float
        Of the ML fit (OLS: R's ``AIC(lm)``), comparable across all rows.
    icc : float
        Adjusted ICC (``performance::icc``); NaN where undefined and for OLS.
    r2_marginal, r2_conditional : float
        Nakagawa's R²; for OLS both are the ordinary R².
    parent : str or None
        The step this one is tested against.
    chisq, df, p : float
        Likelihood-ratio test against ``parent`` (NaN without one).
    singular : bool
    """

    name: str
    formula: str
    kind: str
    npar: int
    criterion: float
    aic: float
    bic: float
    loglik: float
    icc: float
    r2_marginal: float
    r2_conditional: float
    parent: str | None
    chisq: float
    df: float
    p: float
    singular: bool


@dataclass(frozen=True, eq=False)
class Ladder:
    """The ladder's steps (mixed models first, then OLS) and the fits behind them."""

    steps: tuple[LadderStep, ...]
    reml: bool
    nobs: int
    fits: tuple[LmmFit, ...]
    ml_fits: tuple[LmmFit, ...]

    def step(self, name: str) -> LadderStep:
        return next(s for s in self.steps if s.name == name)


def ladder_specs(outcome: str, predictor: str, group: str, reml: bool = True) -> dict:
    """The four mixed models of the tutorial, by step name."""
    base = ModelSpec.one_factor(outcome, group, reml=reml)
    return {
        NULL: base,
        RI: base.with_changes(fixed=(predictor,)),
        RS: base.with_term(intercept=False, slopes=(predictor,)),
        FULL: base.with_changes(fixed=(predictor,)).with_term(slopes=(predictor,)),
    }


def ladder(
    frame: pd.DataFrame, outcome: str, predictor: str, group: str, reml: bool = True
) -> Ladder:
    """Fit the ladder on the rows complete in ``outcome``, ``predictor`` and ``group``.

    Raises
    ------
    ExplorerError
        When a model cannot be fitted (the message names the problem).
    """
    clean, _ = complete_rows(frame, [outcome, predictor, group])
    specs = ladder_specs(outcome, predictor, group, reml)
    fits = {name: fit_lmm(clean, spec) for name, spec in specs.items()}
    ml = {
        name: fits[name] if not spec.reml else fit_lmm(clean, spec.with_changes(reml=False))
        for name, spec in specs.items()
    }
    steps = []
    for name in MIXED:
        fit, mlfit, parent = fits[name], ml[name], PARENT[name]
        chisq = df = p = float("nan")
        if parent is not None:
            row = compare_fits([ml[parent], mlfit], refitted_ml=True).rows[-1]
            chisq, df, p = row.chisq, row.df, row.p
        steps.append(
            LadderStep(
                name=name,
                formula=fit.formula,
                kind="mixed",
                npar=fit.npar,
                criterion=fit.criterion,
                aic=mlfit.aic,
                bic=mlfit.bic,
                loglik=mlfit.loglik,
                icc=fit.icc.adjusted if fit.icc is not None else float("nan"),
                r2_marginal=fit.r2.marginal if fit.r2 is not None else float("nan"),
                r2_conditional=fit.r2.conditional if fit.r2 is not None else float("nan"),
                parent=parent,
                chisq=chisq,
                df=df,
                p=p,
                singular=bool(fit.singular),
            )
        )
    ols = {
        COMPLETE_OLS: (fit_ols(clean, outcome, [predictor]), f"lm({outcome} ~ {predictor})"),
        DUMMY_OLS: (
            fit_ols(clean, outcome, [predictor, group], categorical=[group]),
            f"lm({outcome} ~ {predictor} + {group})",
        ),
    }
    for name, (fit, formula) in ols.items():
        steps.append(_ols_step(name, formula, fit))
    return Ladder(
        steps=tuple(steps),
        reml=reml,
        nobs=fits[NULL].nobs,
        fits=tuple(fits[n] for n in MIXED),
        ml_fits=tuple(ml[n] for n in MIXED),
    )


def ols_loglik(fit: OlsFit) -> float:
    """R's ``logLik.lm``: -n/2 (log(2 pi RSS / n) + 1)."""
    n = fit.nobs
    rss = float(np.sum(np.asarray(fit.residuals, float) ** 2))
    return -0.5 * n * (np.log(2.0 * np.pi * rss / n) + 1.0)


def _ols_step(name: str, formula: str, fit: OlsFit) -> LadderStep:
    k = int(np.sum(~np.asarray(fit.aliased))) + 1  # coefficients + sigma
    ll = ols_loglik(fit)
    nan = float("nan")
    return LadderStep(
        name=name,
        formula=formula,
        kind="ols",
        npar=k,
        criterion=nan,
        aic=-2.0 * ll + 2.0 * k,
        bic=-2.0 * ll + np.log(fit.nobs) * k,
        loglik=ll,
        icc=nan,
        r2_marginal=float(fit.r2),
        r2_conditional=float(fit.r2),
        parent=None,
        chisq=nan,
        df=nan,
        p=nan,
        singular=False,
    )


def ladder_table(result: Ladder) -> pd.DataFrame:
    """The ladder as a table of numbers (one row per step, labelled by name)."""
    criterion = "REML criterion" if result.reml else "deviance"
    rows = [
        {
            "step": s.name,
            "formula": s.formula,
            "npar": s.npar,
            criterion: s.criterion,
            "AIC (ML)": s.aic,
            "BIC (ML)": s.bic,
            "logLik (ML)": s.loglik,
            "ICC": s.icc,
            "R2 marginal": s.r2_marginal,
            "R2 conditional": s.r2_conditional,
            "tested against": s.parent or "",
            "Chisq": s.chisq,
            "Df": s.df,
            "Pr(>Chisq)": s.p,
        }
        for s in result.steps
    ]
    return pd.DataFrame(rows).set_index("step")
