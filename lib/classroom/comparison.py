"""One rule for comparing fitted mixed models, used by Compare, Ladder, Lesson and the report.

lme4's ``anova.merMod`` (lme4 1.1-31, ``R/lmer.R``; refit = TRUE by default) refits every
REML fit with ML, checks that all models were fitted to the same rows (same ``nobs``, same
data and subset), sorts them by number of parameters and tests each against the one
before it: Chisq = 2 max(0, diff logLik) on diff(npar) df. It never checks that the two
are nested, so it prints a Chisq on 0 df for two models of equal size and a p-value for
pairs that are not nested (the tutorial's random intercept against its random slope:
p = 5.96e-10). A teaching tool must not present those as tests. The rules here:

1. **Scale.** Every comparison is on ML fits: REML fits are refitted with ML, always, as
   lme4's ``anova`` does by default. (Refitting only when the fixed effects differ would
   put REML numbers in one table and ML numbers in the next; the REML criterion compares
   only models with the same fixed effects, and a REML AIC not even those with other
   fixed effects.) So AIC, BIC, logLik and deviance are labelled ``(ML)``; the REML
   criterion of each fit as specified keeps its own column, ``REML criterion``.
2. **Nesting.** A is nested in B (A is B with some parameters fixed) when they have the
   same outcome and rows, every fixed-effect column of A is one of B's, and every random
   term of A lies within a term of B on the same grouping factor: its effects are a
   subset of that term's, and if A's term has correlations, so does B's
   (``(1 | g) + (0 + x | g)`` lies within ``(1 + x | g)``, not the other way round).
   A pair with equal numbers of parameters is never nested (the same model, or two
   different ones).
3. **Tests.** In lme4's order (by number of parameters, ties as given) each model is
   tested against the earlier model with the most parameters that is nested in it, and
   by lme4's formula; a model with no such model gets no p-value, with the reason, and is
   compared by AIC/BIC only. Every nested pair's test is in ``pairs``.
4. **Boundary.** A test that adds variance components tests a variance at its lower
   bound 0, where the χ² reference distribution does not hold and its p-value is
   conservative (too large; Self & Liang 1987, Stram & Lee 1994). When the larger model
   adds exactly one random effect and nothing else, the 50:50 mixture of χ² on df - 1
   and df is the right reference (Stram & Lee 1994, eq. 2.2); ``p_boundary`` holds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from lib.errors import SpecError
from lib.lmm import LmmFit, compare_fits, fit_lmm
from lib.model.spec import ModelSpec
from lib.table.columns import complete_rows

# The reasons a pair or a row gets no likelihood-ratio test.
SMALLEST = "the smallest model"
SAME_NPAR = "same number of parameters"
NOT_NESTED = "not nested"
NO_SMALLER_NESTED = "no smaller model is nested in it"

# The one naming of the columns every page shows.
REML_CRITERION = "REML criterion"
AIC_ML, BIC_ML, LOGLIK_ML, DEVIANCE_ML = "AIC (ML)", "BIC (ML)", "logLik (ML)", "deviance (ML)"
AGAINST, CHISQ, DF, P = "tested against", "Chisq", "Df", "Pr(>Chisq)"
P_BOUNDARY, NOTE = "Pr (boundary)", "note"
BOUNDARY_NOTE = "variance tested at its boundary 0: the χ² p-value is conservative"


@dataclass(frozen=True)
class Nesting:
    """Whether model A is nested in model B, and what stands in the way when not.

    Attributes
    ----------
    nested : bool
    extra_fixed : tuple of str
        Fixed-effect columns of A that B lacks.
    extra_random : tuple of str
        Random effects of A no term of B holds, as ``effect | factor``
        (``(Intercept) | school``), or ``cor | factor`` for a correlation B lacks.
    adds_variances : bool
        B has random effects (variances) that A lacks.
    added_effects : int
        Random effects of B beyond A's (for the boundary mixture).
    """

    nested: bool
    extra_fixed: tuple[str, ...]
    extra_random: tuple[str, ...]
    adds_variances: bool
    added_effects: int


def _effects(spec: ModelSpec) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for term in spec.random:
        found.setdefault(term.name, set()).update(term.names)
    return found


def nesting(a: ModelSpec, b: ModelSpec) -> Nesting:
    """Whether ``a`` is ``b`` with some parameters fixed (rule 2 of the module docstring).

    Same outcome is required; rows are checked on the fits (``compare_models``).
    """
    extra_fixed = tuple(c for c in a.fixed if c not in b.fixed)
    extra_random: list[str] = []
    for term in a.random:
        same = [t for t in b.random if t.name == term.name]
        held = set().union(*(t.names for t in same))
        missing = [e for e in term.names if e not in held]
        if missing:
            extra_random += [f"{e} | {term.name}" for e in missing]
        elif term.is_correlated and not any(
            t.is_correlated and set(term.names) <= set(t.names) for t in same
        ):
            extra_random.append(f"cor | {term.name}")
    ea, eb = _effects(a), _effects(b)
    # Correlations added alone are not on a boundary (0 is inside (-1, 1)); variances are.
    added = sum(len(eb[f] - ea.get(f, set())) for f in eb)
    nested = a.outcome == b.outcome and not extra_fixed and not extra_random
    return Nesting(
        nested=nested,
        extra_fixed=extra_fixed,
        extra_random=tuple(extra_random),
        adds_variances=added > 0,
        added_effects=added,
    )


@dataclass(frozen=True)
class PairTest:
    """One pair of models, the smaller first: nested or not, and its test when nested.

    Attributes
    ----------
    smaller, larger : int
        Positions in ``Comparison.models``.
    nested : bool
    reason : str
        Empty when nested; else ``SAME_NPAR`` or ``NOT_NESTED``.
    extra_fixed, extra_random : tuple of str
        What the smaller has that the larger lacks (``Nesting``).
    chisq, df, p : float
        lme4's likelihood-ratio test on the ML fits; NaN when not nested.
    on_boundary : bool
        The larger model adds variance components (rule 4).
    p_boundary : float
        The χ² mixture p-value when the larger adds exactly one random effect and
        nothing else; NaN otherwise.
    """

    smaller: int
    larger: int
    nested: bool
    reason: str
    extra_fixed: tuple[str, ...]
    extra_random: tuple[str, ...]
    chisq: float
    df: float
    p: float
    on_boundary: bool
    p_boundary: float


@dataclass(frozen=True, eq=False)
class ComparedModel:
    """One model's row: its criteria on the ML scale and its test (rule 3).

    Attributes
    ----------
    label, formula : str
    npar : int
        Parameters as lme4 counts them (sigma included).
    reml : bool
        Fitted by REML as specified.
    reml_criterion : float
        REML criterion of the fit as specified; NaN for an ML fit.
    aic, bic, loglik, deviance : float
        Of the ML fit (the fit itself when it is ML).
    against : int or None
        Position of the model it is tested against; None without a test.
    chisq, df, p, p_boundary : float
        The test against ``against`` (``PairTest``); NaN without one.
    on_boundary : bool
    reason : str
        Why there is no test (``SMALLEST``, ``NO_SMALLER_NESTED``); empty with one.
    """

    label: str
    formula: str
    npar: int
    reml: bool
    reml_criterion: float
    aic: float
    bic: float
    loglik: float
    deviance: float
    against: int | None
    chisq: float
    df: float
    p: float
    on_boundary: bool
    p_boundary: float
    reason: str


@dataclass(frozen=True, eq=False)
class Comparison:
    """Models compared by one rule (module docstring).

    Attributes
    ----------
    models : tuple of ComparedModel
        In lme4's anova order: by number of parameters, ties in the order given.
    pairs : tuple of PairTest
        Every pair, smaller first.
    refitted : bool
        Some fit was REML and was refitted with ML.
    best_aic, best_bic : int
        Positions of the lowest AIC (ML) and BIC (ML).
    fits, ml_fits : tuple of LmmFit
        As given and on the ML scale, in ``models`` order.
    """

    models: tuple[ComparedModel, ...]
    pairs: tuple[PairTest, ...]
    refitted: bool
    best_aic: int
    best_bic: int
    fits: tuple[LmmFit, ...]
    ml_fits: tuple[LmmFit, ...]

    def index(self, label: str) -> int:
        """Position of the model called ``label``."""
        for k, model in enumerate(self.models):
            if model.label == label:
                return k
        raise KeyError(f"No model {label!r}; the comparison has {[m.label for m in self.models]}.")

    def model(self, label: str) -> ComparedModel:
        return self.models[self.index(label)]

    def pair(self, first: str, second: str) -> PairTest:
        """The pair of the two models, in either order."""
        ks = {self.index(first), self.index(second)}
        return next(p for p in self.pairs if {p.smaller, p.larger} == ks)

    @property
    def any_reml(self) -> bool:
        return any(m.reml for m in self.models)


def ml_spec(spec: ModelSpec) -> ModelSpec:
    """The spec of the ML fit that comparisons use (the spec itself when already ML)."""
    return spec.with_changes(reml=False) if spec.reml else spec


def compared_rows(frame: pd.DataFrame, specs: Sequence[ModelSpec]) -> pd.DataFrame:
    """The rows every model of a comparison is fitted to: complete in every column any
    of them uses (lme4's anova refuses models fitted to different rows)."""
    used = list(dict.fromkeys(c for s in specs for c in s.columns))
    rows, _ = complete_rows(frame, used)
    return rows


def compare_specs(frame: pd.DataFrame, specs: Mapping[str, ModelSpec]) -> Comparison:
    """Fit every spec (and its ML version) on the common rows and compare them."""
    rows = compared_rows(frame, list(specs.values()))
    fits = {label: fit_lmm(rows, spec) for label, spec in specs.items()}
    ml = {
        label: fit if not fit.reml else fit_lmm(rows, ml_spec(fit.spec))
        for label, fit in fits.items()
    }
    return compare_models(fits, ml)


def compare_models(
    fits: Mapping[str, LmmFit],
    ml_fits: Mapping[str, LmmFit] | None = None,
    frame: pd.DataFrame | None = None,
) -> Comparison:
    """Compare fitted models by the module's rule.

    Parameters
    ----------
    fits : mapping of label to LmmFit
        At least two, fitted to the same rows, as specified (REML or ML).
    ml_fits : mapping of label to LmmFit, optional
        Their ML versions (``ml_spec``), e.g. from a cache; ML fits may be left out.
    frame : DataFrame, optional
        Where to refit the REML fits missing from ``ml_fits`` (their common rows).

    Raises
    ------
    SpecError
        Fewer than two models, different outcomes or numbers of rows, an ML version
        missing without ``frame``.
    """
    if len(fits) < 2:
        raise SpecError(f"A comparison needs at least 2 models, got {len(fits)}.")
    outcomes = {f.spec.outcome for f in fits.values()}
    if len(outcomes) != 1:
        raise SpecError(f"Models can only be compared on the same outcome; got {sorted(outcomes)}.")
    ml = dict(ml_fits or {})
    for label, fit in fits.items():
        if label in ml:
            continue
        if not fit.reml:
            ml[label] = fit
        elif frame is None:
            raise SpecError(f"The ML fit of {label!r} is missing; pass the data to refit it.")
        else:
            rows = compared_rows(frame, [f.spec for f in fits.values()])
            ml[label] = fit_lmm(rows, ml_spec(fit.spec))
    nobs = {f.nobs for f in (*fits.values(), *ml.values())}
    if len(nobs) != 1:
        raise SpecError(
            f"Models were fitted to different numbers of rows ({sorted(nobs)}); fit them to "
            "the rows complete in every column any of them uses."
        )
    labels = sorted(fits, key=lambda k: ml[k].npar)  # stable, as R's order()
    pairs = _pairs(labels, ml)
    models = [_row(k, labels, fits, ml, pairs) for k in range(len(labels))]
    aic = [m.aic for m in models]
    bic = [m.bic for m in models]
    return Comparison(
        models=tuple(models),
        pairs=tuple(pairs),
        refitted=any(f.reml for f in fits.values()),
        best_aic=int(np.argmin(aic)),
        best_bic=int(np.argmin(bic)),
        fits=tuple(fits[k] for k in labels),
        ml_fits=tuple(ml[k] for k in labels),
    )


def _pairs(labels: list[str], ml: Mapping[str, LmmFit]) -> list[PairTest]:
    nan = float("nan")
    out = []
    for j in range(len(labels)):
        for i in range(j):
            a, b = ml[labels[i]], ml[labels[j]]
            rule = nesting(a.spec, b.spec)
            nested = rule.nested and a.npar < b.npar
            reason = "" if nested else SAME_NPAR if a.npar == b.npar else NOT_NESTED
            chisq = df = p = p_boundary = nan
            if nested:
                row = compare_fits([a, b], refitted_ml=True).rows[-1]  # lme4's formula
                chisq, df, p = row.chisq, row.df, row.p
                if rule.added_effects == 1 and set(a.spec.fixed) == set(b.spec.fixed):
                    p_boundary = _mixture_p(chisq, int(df))
            out.append(
                PairTest(
                    smaller=i,
                    larger=j,
                    nested=nested,
                    reason=reason,
                    extra_fixed=rule.extra_fixed,
                    extra_random=rule.extra_random,
                    chisq=chisq,
                    df=df,
                    p=p,
                    on_boundary=nested and rule.adds_variances,
                    p_boundary=p_boundary,
                )
            )
    return out


def _mixture_p(chisq: float, df: int) -> float:
    """P-value of the 50:50 mixture of χ² on df - 1 and df (χ² on 0 df: all mass at 0)."""
    upper = float(special.chdtrc(df, chisq))
    lower = float(special.chdtrc(df - 1, chisq)) if df > 1 else float(chisq <= 0)
    return 0.5 * (lower + upper)


def _row(
    k: int,
    labels: list[str],
    fits: Mapping[str, LmmFit],
    ml: Mapping[str, LmmFit],
    pairs: list[PairTest],
) -> ComparedModel:
    label = labels[k]
    fit, mlfit = fits[label], ml[label]
    nested = [p for p in pairs if p.larger == k and p.nested]
    # The earlier nested model with the most parameters; ties: the later one (lme4's
    # neighbour).
    test = max(nested, key=lambda p: (ml[labels[p.smaller]].npar, p.smaller), default=None)
    nan = float("nan")
    return ComparedModel(
        label=label,
        formula=fit.formula,
        npar=mlfit.npar,
        reml=fit.reml,
        reml_criterion=fit.criterion if fit.reml else nan,
        aic=mlfit.aic,
        bic=mlfit.bic,
        loglik=mlfit.loglik,
        deviance=-2.0 * mlfit.loglik,
        against=test.smaller if test else None,
        chisq=test.chisq if test else nan,
        df=test.df if test else nan,
        p=test.p if test else nan,
        on_boundary=test.on_boundary if test else False,
        p_boundary=test.p_boundary if test else nan,
        reason="" if test else SMALLEST if k == 0 else NO_SMALLER_NESTED,
    )


def comparison_table(result: Comparison) -> pd.DataFrame:
    """The table Compare, Ladder and Lesson show: one row per model in lme4's order.

    Columns: formula, npar, ``REML criterion`` (only when some fit is REML), ``AIC (ML)``,
    ``BIC (ML)``, ``logLik (ML)``, ``deviance (ML)``, ``tested against`` (a label, or
    empty), Chisq, Df, Pr(>Chisq), ``Pr (boundary)``, note (why no test, or the boundary
    caveat). Numbers are unrounded.
    """
    rows = []
    for m in result.models:
        row = {"formula": m.formula, "npar": m.npar}
        if result.any_reml:
            row[REML_CRITERION] = m.reml_criterion
        row.update(
            {
                AIC_ML: m.aic,
                BIC_ML: m.bic,
                LOGLIK_ML: m.loglik,
                DEVIANCE_ML: m.deviance,
                AGAINST: result.models[m.against].label if m.against is not None else "",
                CHISQ: m.chisq,
                DF: m.df,
                P: m.p,
                P_BOUNDARY: m.p_boundary,
                NOTE: m.reason or (BOUNDARY_NOTE if m.on_boundary else ""),
            }
        )
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index([m.label for m in result.models], name="model"))


def compare_glmms(fits: Mapping[str, object]) -> Comparison:
    """GLMM fits compared by the same rule: ``lib.glmm.anova.ComparableGlmm`` values
    (a fit with its spec and family), which ``compare_models`` reads as it reads an
    ``LmmFit``; glmer has no REML, so nothing is refitted (lme4's ``anova`` for glmer).
    Models must share the family, link, trials and offset and the kind of likelihood
    (Laplace or AGQ): ``lib.glmm.anova.check_comparable``."""
    from lib.glmm.anova import check_comparable

    check_comparable(list(fits.values()))  # type: ignore[arg-type]
    return compare_models(fits)  # type: ignore[arg-type]


def compare_glmm_specs(
    frame: pd.DataFrame,
    specs: Mapping[str, ModelSpec],
    response_family: object,
    nagq: int = 1,
) -> Comparison:
    """Fit every spec as a GLMM with ``response_family`` (a
    ``lib.model.response.ResponseFamily``) on the rows complete in every column any of
    them uses (trials and offset included) and compare them (``compare_glmms``).
    ``nagq`` > 1 applies to the specs glmer allows it for (``lib.glmm.agq.agq_applies``);
    the others are Laplace fits."""
    from lib.glmm.agq import agq_applies
    from lib.glmm.anova import ComparableGlmm
    from lib.glmm.fit import fit_glmm

    extra = tuple(response_family.columns)  # type: ignore[attr-defined]
    used = list(dict.fromkeys([c for s in specs.values() for c in s.columns] + list(extra)))
    rows, _ = complete_rows(frame, used)
    fits = {
        label: ComparableGlmm(
            fit_glmm(rows, spec, response_family, nagq if agq_applies(spec) else min(nagq, 1)),
            spec,
            response_family,
        )
        for label, spec in specs.items()
    }
    return compare_glmms(fits)
