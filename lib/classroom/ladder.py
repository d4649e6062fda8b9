"""The tutorial's model ladder as one table of numbers, on any number of grouping levels.

Null model -> random intercept -> random slope -> random intercept and slope (the
tutorial's four mixed models, ``PRESETS``), next to the two OLS strategies (complete
pooling ``lm(y ~ x)``, no pooling ``lm(y ~ x + g)``). Every model is fitted to the same
complete rows.

On data with more than one grouping level (class within school, plate crossed with
sample) a preset sets the *top* level's effects and the fixed slope and keeps every
other level's terms as the sidebar has them: the random intercept step of
``score ~ 1 + hours + (1 | school) + (1 | class:school)`` keeps ``(1 | class:school)``.
``presets`` says, for each step, the top level's terms, the terms kept and, when a
step cannot apply (no predictor for a slope), why it is not offered.

Which steps are tested against which, on which likelihood, and what each column holds
is decided by ``lib.classroom.comparison`` (one rule for Compare, Ladder and Lesson):
ML refits for every comparison, a likelihood-ratio test only against a nested smaller
step (the random slope ``1 + (0 + x | g)`` is nested in neither earlier step, so it gets
no test and is compared by AIC/BIC). AIC, BIC and logLik are from the ML fits, so all
rows (OLS included: R's ``logLik.lm``) are comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.classroom import comparison as cmp
from lib.errors import SpecError
from lib.lmm import LmmFit
from lib.model.levels import LevelEffects, level_factors, level_spec
from lib.model.spec import GroupLevel, ModelSpec
from lib.ols.regressions import OlsFit, fit_ols
from lib.table.columns import complete_rows

NULL, RI, RS, FULL = "Null model", "Random intercept", "Random slope", "Random intercept and slope"
COMPLETE_OLS, DUMMY_OLS = "OLS: one line (complete pooling)", "OLS: group dummies (no pooling)"
MIXED = (NULL, RI, RS, FULL)
# Each step: the fixed slope, and the top level's random effects.
PRESETS: dict[str, tuple[bool, LevelEffects]] = {
    NULL: (False, LevelEffects(intercept=True, slope=False)),
    RI: (True, LevelEffects(intercept=True, slope=False)),
    RS: (False, LevelEffects(intercept=False, slope=True)),
    FULL: (True, LevelEffects(intercept=True, slope=True, correlated=True)),
}
NO_PREDICTOR = "needs a numeric predictor for its {what}, and none is chosen"


@dataclass(frozen=True)
class Preset:
    """One step of the ladder as the sidebar's toggles, and what it does to the model.

    Attributes
    ----------
    name : str
    fixed_slope : bool
    top : LevelEffects
        The top level's random effects.
    spec : ModelSpec or None
        The model; None when the step is not offered.
    top_terms : tuple of str
        The top level's terms in lme4 syntax (``(0 + hours | school)``); empty when the
        top level has none (then the other levels carry the random effects).
    kept : tuple of str
        The other levels' terms, unchanged by the step (``(1 | class:school)``).
    reason : str
        Why the step is not offered; empty when it is.
    """

    name: str
    fixed_slope: bool
    top: LevelEffects
    spec: ModelSpec | None
    top_terms: tuple[str, ...]
    kept: tuple[str, ...]
    reason: str

    @property
    def offered(self) -> bool:
        return self.spec is not None


def presets(
    outcome: str,
    predictor: str | None,
    group: str,
    reml: bool = True,
    levels: Sequence[GroupLevel] = (),
    lower: Sequence[LevelEffects] = (),
) -> tuple[Preset, ...]:
    """The four steps for these roles, offered or not (with the reason).

    Parameters
    ----------
    outcome, predictor, group : str
        ``predictor`` None: only the null model is offered.
    reml : bool
    levels : sequence of GroupLevel
        The lower grouping levels, kept in every step.
    lower : sequence of LevelEffects
        Their random effects (default: a random intercept each).
    """
    lower = tuple(lower) or tuple(LevelEffects() for _ in levels)
    if len(lower) != len(levels):
        raise SpecError(f"Expected effects for {len(levels)} lower level(s), got {len(lower)}.")
    top_factor = ":".join(level_factors(group, levels)[0])
    out = []
    for name, (fixed_slope, top) in PRESETS.items():
        needs = "fixed slope" if fixed_slope and not top.slope else "random slope"
        spec, reason = None, ""
        if predictor is None and (fixed_slope or top.slope):
            reason = NO_PREDICTOR.format(what=needs)
        else:
            try:
                spec = level_spec(
                    outcome,
                    group,
                    levels,
                    (top, *lower),
                    fixed=(predictor,) if fixed_slope and predictor else (),
                    slope=predictor,
                    reml=reml,
                )
            except SpecError as exc:
                reason = str(exc)
        terms = spec.random if spec is not None else ()
        out.append(
            Preset(
                name=name,
                fixed_slope=fixed_slope,
                top=top,
                spec=spec,
                top_terms=tuple(t.formula() for t in terms if t.name == top_factor),
                kept=tuple(t.formula() for t in terms if t.name != top_factor),
                reason=reason,
            )
        )
    return tuple(out)


def describe_preset(preset: Preset, group: str, predictor: str | None) -> str:
    """What a step changes and keeps, in one plain sentence (names in single quotes)."""
    if not preset.offered:
        return f"{preset.name}: not offered; it {preset.reason}."
    slope = f" with the fixed slope of '{predictor}'" if preset.fixed_slope else " (no fixed slope)"
    top = " + ".join(preset.top_terms) or "no random effect"
    text = f"{preset.name}: sets the top level '{group}' to {top}{slope}"
    if preset.kept:
        text += f"; keeps {' + '.join(preset.kept)} as chosen"
    return text + "."


def ladder_specs(
    outcome: str,
    predictor: str,
    group: str,
    reml: bool = True,
    levels: Sequence[GroupLevel] = (),
    lower: Sequence[LevelEffects] = (),
) -> dict[str, ModelSpec]:
    """The offered steps' models, by step name (``presets``)."""
    found = presets(outcome, predictor, group, reml, levels, lower)
    return {p.name: p.spec for p in found if p.spec is not None}


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
        Of the ML fit (OLS: R's ``AIC(lm)``), comparable across all rows; the mixed
        steps' are ``lib.classroom.comparison``'s numbers.
    icc : float
        Adjusted ICC (``performance::icc``); NaN where undefined and for OLS.
    r2_marginal, r2_conditional : float
        Nakagawa's R²; for OLS both are the ordinary R².
    parent : str or None
        The step this one is tested against (``comparison``'s rule).
    chisq, df, p, p_boundary : float
        Likelihood-ratio test against ``parent`` (NaN without one).
    on_boundary : bool
        The test adds a variance (its p-value is conservative).
    reason : str
        Why a mixed step has no test; empty otherwise.
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
    p_boundary: float = float("nan")
    on_boundary: bool = False
    reason: str = ""


@dataclass(frozen=True, eq=False)
class Ladder:
    """The ladder's steps (mixed models first, then OLS), the fits and their comparison."""

    steps: tuple[LadderStep, ...]
    reml: bool
    nobs: int
    fits: tuple[LmmFit, ...]
    ml_fits: tuple[LmmFit, ...]
    comparison: cmp.Comparison
    presets: tuple[Preset, ...]

    def step(self, name: str) -> LadderStep:
        return next(s for s in self.steps if s.name == name)


def ladder(
    frame: pd.DataFrame,
    outcome: str,
    predictor: str,
    group: str,
    reml: bool = True,
    levels: Sequence[GroupLevel] = (),
    lower: Sequence[LevelEffects] = (),
) -> Ladder:
    """Fit the ladder on the rows complete in every column it uses.

    ``levels`` and ``lower`` (the lower grouping levels and their effects) are kept in
    every mixed step (``presets``); the OLS rows use the top ``group`` only.

    Raises
    ------
    ExplorerError
        When a model cannot be fitted (the message names the problem).
    """
    steps_offered = presets(outcome, predictor, group, reml, levels, lower)
    specs = {p.name: p.spec for p in steps_offered if p.spec is not None}
    clean = cmp.compared_rows(frame, list(specs.values()))
    clean, _ = complete_rows(clean, [outcome, predictor, group])
    result = cmp.compare_specs(clean, specs)
    steps = [_mixed_step(result, name) for name in MIXED if name in specs]
    ols = {
        COMPLETE_OLS: (fit_ols(clean, outcome, [predictor]), f"lm({outcome} ~ {predictor})"),
        DUMMY_OLS: (
            fit_ols(clean, outcome, [predictor, group], categorical=[group]),
            f"lm({outcome} ~ {predictor} + {group})",
        ),
    }
    for name, (fit, formula) in ols.items():
        steps.append(_ols_step(name, formula, fit))
    order = [result.index(name) for name in MIXED if name in specs]
    return Ladder(
        steps=tuple(steps),
        reml=reml,
        nobs=len(clean),
        fits=tuple(result.fits[k] for k in order),
        ml_fits=tuple(result.ml_fits[k] for k in order),
        comparison=result,
        presets=steps_offered,
    )


def _mixed_step(result: cmp.Comparison, name: str) -> LadderStep:
    k = result.index(name)
    row, fit = result.models[k], result.fits[k]
    return LadderStep(
        name=name,
        formula=fit.formula,
        kind="mixed",
        npar=row.npar,
        criterion=fit.criterion,
        aic=row.aic,
        bic=row.bic,
        loglik=row.loglik,
        icc=fit.icc.adjusted if fit.icc is not None else float("nan"),
        r2_marginal=fit.r2.marginal if fit.r2 is not None else float("nan"),
        r2_conditional=fit.r2.conditional if fit.r2 is not None else float("nan"),
        parent=result.models[row.against].label if row.against is not None else None,
        chisq=row.chisq,
        df=row.df,
        p=row.p,
        singular=bool(fit.singular),
        p_boundary=row.p_boundary,
        on_boundary=row.on_boundary,
        reason=row.reason,
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
    """The ladder as a table of numbers (one row per step, labelled by name), with the
    column names of ``lib.classroom.comparison`` (``REML criterion`` only for a REML
    ladder: an ML fit's criterion is its ``deviance (ML)``)."""
    rows = []
    for s in result.steps:
        row: dict[str, object] = {"step": s.name, "formula": s.formula, "npar": s.npar}
        if result.reml:
            row[cmp.REML_CRITERION] = s.criterion
        note = s.reason or (cmp.BOUNDARY_NOTE if s.on_boundary else "")
        row.update(
            {
                cmp.AIC_ML: s.aic,
                cmp.BIC_ML: s.bic,
                cmp.LOGLIK_ML: s.loglik,
                cmp.DEVIANCE_ML: -2.0 * s.loglik,
                "ICC": s.icc,
                "R2 marginal": s.r2_marginal,
                "R2 conditional": s.r2_conditional,
                cmp.AGAINST: s.parent or "",
                cmp.CHISQ: s.chisq,
                cmp.DF: s.df,
                cmp.P: s.p,
                cmp.P_BOUNDARY: s.p_boundary,
                cmp.NOTE: note if s.kind == "mixed" else "",
            }
        )
        rows.append(row)
    return pd.DataFrame(rows).set_index("step")
