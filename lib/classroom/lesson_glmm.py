"""The lesson for a binomial or Poisson outcome: the tutorial's nine steps with glm and glmer.

The steps follow ``lib.classroom.lesson`` (same keys and numbers, so a ``step=N`` link
means the same step): look at the proportions (mean counts) per group; one logistic
(Poisson) regression that ignores the groups; one with a dummy per group; one per group,
where groups whose outcome is all 0 or all 1, or separated by the predictor, cannot be
fitted (``lib.ols.glm``); then the null model with the ICC on the latent scale, random
intercept, random slope, both, and the comparison by the one rule
(``lib.classroom.comparison``). Each ``look_*`` function writes its step's "what to look
at" from the fits (never canned numbers); coefficients are read as odds ratios (logit)
or rate ratios (log), as ``lib.present.explain_glmm`` reads them.

Texts are Markdown: names escaped (``lib.present.markdown.md``) and in bold, as the
sentences of ``lib.present.explain_glmm``. The ``*_curves`` functions give the fitted
curves of steps 2-4 on the response scale for the scatter chart (``lib.charts.scatter``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from lib.classroom.lesson import (
    DATA,
    DUMMY,
    NULL,
    OLS,
    SEPARATE,
    Step,
    correlation_and_singularity,
)
from lib.classroom.lesson import STEPS as LINEAR_STEPS
from lib.explore.rates import GroupRates
from lib.glmm.family import family as make_family
from lib.glmm.result import GlmmFit
from lib.glmm.variance import LatentVariances
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec, r_name
from lib.ols import glm
from lib.ols.glm import GlmFit, PerGroupGlm
from lib.present.explain_glmm import outcome_words
from lib.present.family import r_family
from lib.present.markdown import md
from lib.present.numbers import num, p_text, pct

CURVE_POINTS = 41  # points per fitted curve (as lib.classroom.pooling_glmm)
MAX_NAMED = 8  # groups named in a sentence before "and N more"
LATENT_NAMES = {
    "logit": "the standard logistic distribution, π²/3",
    "probit": "the standard normal distribution, 1",
    "cloglog": "the extreme-value distribution of the cloglog link, π²/6",
}


def kind(response: ResponseFamily) -> str:
    """ "logistic", "probit", "cloglog" or "Poisson": the name of the regression."""
    if response.family == "poisson":
        return "Poisson"
    return "logistic" if response.link_name == "logit" else response.link_name


def steps(response: ResponseFamily) -> tuple[Step, ...]:
    """The nine steps, worded for this family (keys and numbers as the linear lesson's)."""
    what = "proportions" if response.family == "binomial" else "mean counts"
    name = kind(response)
    scale = _scale(response)
    return (
        Step(1, DATA, "Look at the data", f"Do the groups differ in their {what}?", False),
        Step(
            2,
            OLS,
            f"One {name} regression",
            f"Complete pooling: one {name} regression for all rows, groups ignored.",
            True,
        ),
        Step(
            3,
            DUMMY,
            "Dummy variables",
            f"One baseline per group, one shared slope on the {scale} scale.",
            True,
        ),
        Step(
            4,
            SEPARATE,
            "Separate regressions",
            f"A {name} regression per group: nothing shared, and not every group can be fitted.",
            True,
        ),
        Step(
            5,
            NULL,
            "Null model and ICC",
            "How much of the variation lies between groups, on the latent scale?",
            False,
        ),
        *LINEAR_STEPS[5:],  # steps 6-9 ask the same questions for every family
    )


def _scale(response: ResponseFamily) -> str:
    return {"logit": "log-odds", "log": "log"}.get(response.link_name, response.link_name)


def _b(name: str) -> str:
    return f"**{md(name)}**"


def _named(levels: Sequence[str]) -> str:
    shown = ", ".join(_b(v) for v in levels[:MAX_NAMED])
    more = len(levels) - MAX_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def _what(outcome: str, response: ResponseFamily) -> str:
    """ "the odds that **use** is **Y**", "the expected count of **ticks**"."""
    # outcome_words reads only the spec's outcome; a spec needs a random term, whose
    # (placeholder) group plays no part in the words.
    placeholder = "group" if outcome != "group" else "groups"
    return outcome_words(ModelSpec.one_factor(outcome, placeholder), response)


def glm_line(
    outcome: str, predictor: str, response: ResponseFamily, group: str | None = None
) -> str:
    """R's call of a step 2-4 regression: ``glm(use ~ age + factor(district), data = d,
    family = binomial)``, with ``cbind(s, n - s)`` and ``offset()`` as glmer's formula
    (``factor()``: a numeric group id is a category, not a number)."""
    y = r_name(outcome)
    lhs = f"cbind({y}, {r_name(response.trials)} - {y})" if response.trials else y
    terms = [r_name(predictor)] + ([f"factor({r_name(group)})"] if group else [])
    if response.offset:
        terms.append(f"offset({r_name(response.offset)})")
    return f"glm({lhs} ~ {' + '.join(terms)}, data = d, family = {r_family(response)})"


def _slope_words(b: float, se: float, x: str, outcome: str, response: ResponseFamily) -> str:
    """A slope as a ratio per unit of ``x`` (logit, log) or a shift on the link scale."""
    link = response.link_name
    if link in ("logit", "log"):
        return (
            f"each extra unit of {_b(x)} multiplies {_what(outcome, response)} by "
            f"{num(math.exp(b))} ({_scale(response)} slope {num(b, 4)}, SE {num(se, 4)})"
        )
    return f"each extra unit of {_b(x)} shifts the {link} of the probability by {num(b, 4)} " + (
        f"(SE {num(se, 4)})"
    )


def _ratio_name(response: ResponseFamily) -> str:
    return {"logit": "odds ratio", "log": "rate ratio"}.get(response.link_name, "")


# ------------------------------------------------------------------ steps 1-4


def look_data(rates: GroupRates, response: ResponseFamily) -> str:
    """Step 1: the spread of the groups' proportions (mean counts), and groups at 0 or 1."""
    rate = np.asarray(rates.rate, float)
    hi, lo = int(np.nanargmax(rate)), int(np.nanargmin(rate))
    binomial = rates.family == "binomial"
    if binomial:
        success = md(response.success) if response.success else "1"
        what = (
            f"The proportion of successes ({_b(rates.outcome)})"
            if response.trials
            else f"The proportion of rows with {_b(rates.outcome)} = **{success}**"
        )
    else:
        what = f"The mean count of {_b(rates.outcome)}"
    text = (
        f"{what} runs from {num(rate[lo])} ({md(rates.group)} {_b(rates.levels[lo])}, "
        f"{int(rates.n[lo]):,} rows) to {num(rate[hi])} ({md(rates.group)} "
        f"{_b(rates.levels[hi])}, {int(rates.n[hi]):,} rows) across {len(rates.levels)} "
        f"groups; over all rows it is {num(rates.overall)}."
    )
    edge = (rate == 0) | (rate == 1) if binomial else rate == 0
    if edge.any():
        at = "0 or 1" if binomial else "0"
        scale = "log-odds" if binomial else "log mean count"
        at_edge = [rates.levels[k] for k in np.flatnonzero(edge)]
        text += (
            f" {int(edge.sum())} of the groups sit at {at} ({_named(at_edge)}): "
            f"their {scale} is infinite, so no regression of their own can estimate it "
            "(step 4)."
        )
    text += (
        " Small groups scatter most by chance; the mixed models of steps 5-8 pull their "
        f"{'proportions' if binomial else 'means'} towards the overall one."
    )
    return text


def look_complete(fit: GlmFit, predictor: str, group: str, response: ResponseFamily) -> str:
    """Step 2: the one curve, its slope as a ratio, and what it ignores."""
    k = fit.names.index(predictor)
    more = "more successes" if response.family == "binomial" else "higher counts"
    slope = _slope_words(float(fit.coef[k]), float(fit.se[k]), predictor, fit.outcome, response)
    return (
        f"One curve for all {fit.nobs:,} rows: {slope}, z = {num(float(fit.z[k]), 2)}, "
        f"{p_text(float(fit.p[k]))}. The residual deviance is {num(fit.deviance, 1)} on "
        f"{fit.df_resid:,} df (null deviance {num(fit.null_deviance, 1)}), AIC "
        f"{num(fit.aic, 1)}. The curve ignores {_b(group)}: where some groups have far "
        f"{more} than the curve predicts and others far fewer (step 1), the rows of a group "
        "are not independent, which this model assumes."
    )


def look_dummy(fit: GlmFit, complete: GlmFit, predictor: str, group: str) -> str:
    """Step 3: parallel curves on the link scale; deviance and AIC against step 2; the
    groups whose dummy is infinite."""
    b, b1 = fit.coefficient(predictor), complete.coefficient(predictor)
    levels = len(fit.names) - len(complete.names) + 1
    text = (
        f"Each {_b(group)} gets its own baseline; all share the slope {num(b, 4)} (one curve: "
        f"{num(b1, 4)}). The deviance drops from {num(complete.deviance, 1)} to "
        f"{num(fit.deviance, 1)} and AIC goes from {num(complete.aic, 1)} to "
        f"{num(fit.aic, 1)}: "
        + (
            "the groups' baselines explain more than their parameters cost."
            if fit.aic < complete.aic
            else "the groups' baselines explain less than their parameters cost."
        )
        + f" The price: {levels - 1} dummy variables, one per group but the reference "
        f"({_b(str(fit.reference))})."
    )
    if fit.infinite:
        text += (
            f" {len(fit.infinite)} groups ({_named(fit.infinite)}) have outcomes all 0 or "
            "all 1: their dummies have no finite estimate (shown as -Inf or Inf; R's glm() "
            "stops at huge numbers with huge SEs). The model fits their rows exactly and "
            "learns nothing from them."
        )
    return text


def _reason_words(reason: str, predictor: str, response: ResponseFamily) -> str:
    binomial = response.family == "binomial"
    return {
        glm.ALL_ZERO: "no successes" if binomial else "all counts 0",
        glm.ALL_ONE: "no failures",
        glm.SEPARATED: f"{_b(predictor)} separates the outcomes",
        glm.CONSTANT: f"{_b(predictor)} does not vary",
        glm.ONE_ROW: "one row",
    }[reason]


def look_separate(per_group: PerGroupGlm, response: ResponseFamily) -> str:
    """Step 4: the spread of the slopes, and which groups cannot be fitted and why."""
    slopes = per_group.slopes()
    fitted = np.isfinite(slopes)
    g, x = _b(per_group.group), per_group.predictor
    total = len(per_group.levels)
    if fitted.any():
        hi, lo = int(np.nanargmax(slopes)), int(np.nanargmin(slopes))
        text = (
            f"Among the {int(fitted.sum())} groups that can be fitted, the slopes of {_b(x)} "
            f"run from {num(slopes[lo], 4)} ({md(per_group.group)} "
            f"{_b(per_group.levels[lo])}) to {num(slopes[hi], 4)} ({md(per_group.group)} "
            f"{_b(per_group.levels[hi])}), each resting on its own "
            "group's rows alone."
        )
    else:
        text = f"No {g} group can be fitted on its own."
    unfitted = per_group.unfitted()
    if not unfitted:
        return text + (
            " Every group could be fitted here, but the smallest ones have wide intervals: "
            "nothing is borrowed from the other groups."
        )
    missing = sum(len(v) for v in unfitted.values())
    parts = [
        f"{_named(levels)} ({_reason_words(reason, x, response)})"
        for reason, levels in unfitted.items()
    ]
    separated = {glm.ALL_ZERO, glm.ALL_ONE, glm.SEPARATED} & set(unfitted)
    text += f" {missing} of {total} groups cannot be fitted: " + "; ".join(parts) + "."
    if separated:
        text += (
            " For these the maximum-likelihood estimate does not exist (separation): the "
            "outcome is predicted perfectly, so glm()'s estimates run towards ±∞."
        )
    return text + (
        " This is one reason to pool: the mixed models of the next steps borrow from the "
        "other groups and give every group a finite estimate."
    )


# ------------------------------------------------------------------ steps 5-8


def _intercept_variance(fit: GlmmFit) -> float:
    term = fit.varcorr[0]
    names = list(term.names)
    return float(term.variances[names.index("(Intercept)")]) if "(Intercept)" in names else 0.0


def _verdict(icc: float) -> str:
    if icc >= 0.10:
        return "substantial clustering: a multilevel model is warranted (rule of thumb ICC ≥ 0.10)"
    if icc < 0.05:
        return "little clustering (below 0.05 is often called negligible)"
    return "modest clustering (between the 0.05 and 0.10 rules of thumb)"


def look_null(fit: GlmmFit, variances: LatentVariances, response: ResponseFamily) -> str:
    """Step 5: the intercept variance against the latent scale's residual variance."""
    tau2 = _intercept_variance(fit)
    g = _b(fit.varcorr[0].group)
    residual = variances.residual
    if fit.family == "binomial":
        latent = (
            f"A {kind(response)} model has no residual variance of its own; on the latent "
            "scale (an unobserved continuous propensity whose threshold gives 0 or 1) the "
            f"rows vary around their group with the variance of {LATENT_NAMES[fit.link]} = "
            f"{num(variances.distribution)}."
        )
    else:
        mu = math.exp(variances.null_intercept or 0.0)
        latent = (
            "A Poisson model has no residual variance of its own; on the latent (log) "
            f"scale the rows' variance is approximated by ln(1 + 1/μ) = "
            f"{num(variances.distribution)}, with μ = {num(mu)} the null model's mean count."
        )
    if variances.dispersion > 0:
        latent += f" An observation-level term adds {num(variances.dispersion)}."
    icc = variances.icc_adjusted
    text = (
        f"No predictor yet: the baselines of the {g} groups vary with intercept variance "
        f"{num(tau2)} on the {_scale(response)} scale. {latent} The ICC is {num(tau2)} / "
        f"({num(tau2)} + {num(residual)}) = {num(icc)}: {pct(icc)} of the latent variation "
        f"lies between groups, {_verdict(icc)}."
    )
    return " ".join([text, *variances.messages])


def look_random_intercept(
    fit: GlmmFit,
    null: GlmmFit | None,
    complete: GlmFit | None,
    predictor: str,
    response: ResponseFamily,
) -> str:
    """Step 6: the fixed slope against one curve's, and the intercept variance."""
    names = list(fit.fixef_names)
    k = names.index(predictor)
    b, se = float(fit.beta[k]), float(fit.se[k])
    outcome = complete.outcome if complete is not None else "the outcome"
    text = (
        f"Each group keeps its own baseline; within a group, "
        f"{_slope_words(b, se, predictor, outcome, response)}"
    )
    if complete is not None:
        j = complete.names.index(predictor)
        text += (
            f", against {num(float(complete.coef[j]), 4)} (SE {num(float(complete.se[j]), 4)}) "
            "for one curve that ignores the groups"
        )
    text += "."
    if null is not None:
        before, after = _intercept_variance(null), _intercept_variance(fit)
        text += f" Adding {_b(predictor)} moves the intercept variance from {num(before)} to "
        text += (
            f"{num(after)}: it grows, as it can in a {kind(response)} model, which has no "
            "residual variance to absorb what a predictor explains (the latent one is fixed), "
            "so the other variances are rescaled."
            if after > before
            else f"{num(after)}: {_b(predictor)} explains part of the differences between groups."
        )
    return text + (
        " Look at the chart: the curves share their slope on the "
        f"{_scale(response)} scale, so they are not parallel on the "
        f"{'probability' if response.family == 'binomial' else 'count'} scale."
    )


def look_random_slope(fit: GlmmFit, response: ResponseFamily) -> str:
    """Step 7: one baseline, group slopes with their spread (no fixed slope)."""
    term = fit.varcorr[0]
    x, sd = term.names[-1], float(term.sd[-1])
    return (
        f"Here every group shares one baseline ({num(float(fit.beta[0]))} on the "
        f"{_scale(response)} scale) and the slope of {_b(x)} varies between groups with SD "
        f"{num(sd)}. The model has no fixed slope, so each group's slope is its random effect "
        "itself, averaging 0: the curves fan out from one point at x = 0, which is rarely "
        "what data look like."
    )


def look_full(fit: GlmmFit, response: ResponseFamily) -> str:
    """Step 8: intercept and slope SDs, their correlation, singularity."""
    term = fit.varcorr[0]
    x = term.names[-1]
    names = list(fit.fixef_names)
    b = float(fit.beta[names.index(x)]) if x in names else float("nan")
    ratio = _ratio_name(response)
    average = f"{num(b, 4)}" + (f" ({ratio} {num(math.exp(b))})" if ratio else "")
    text = (
        f"Now each group has its own baseline (SD {num(float(term.sd[0]))}) and its own slope "
        f"of {_b(x)} (SD {num(float(term.sd[-1]))}) around the average slope {average}, on "
        f"the {_scale(response)} scale."
    )
    text += correlation_and_singularity(term, fit.singular)
    return text + " Compare the curves with the separate regressions of step 4."


# ------------------------------------------------------------------ curves


def _grid(x_range: tuple[float, float]) -> np.ndarray:
    return np.linspace(float(x_range[0]), float(x_range[1]), CURVE_POINTS)


def complete_curve(fit: GlmFit, predictor: str, x_range: tuple[float, float], label: str):
    """Step 2's curve on the response scale (offset 0), as group ``label``."""
    x = _grid(x_range)
    fam = make_family(fit.family, fit.link)
    eta = fit.coefficient("(Intercept)") + fit.coefficient(predictor) * x
    return pd.DataFrame({"group": label, "x": x, "y": fam.linkinv(eta)})


def dummy_curves(
    fit: GlmFit, predictor: str, group: str, levels: Sequence[str], x_range: tuple[float, float]
) -> pd.DataFrame:
    """Step 3's curves: each group's baseline, the shared slope (groups whose dummy is
    infinite have no curve)."""
    x = _grid(x_range)
    fam = make_family(fit.family, fit.link)
    a, b = fit.coefficient("(Intercept)"), fit.coefficient(predictor)
    frames = []
    for level in levels:
        shift = 0.0 if str(level) == fit.reference else fit.coefficient(f"{group}{level}")
        if np.isfinite(shift):
            frames.append(
                pd.DataFrame({"group": str(level), "x": x, "y": fam.linkinv(a + shift + b * x)})
            )
    return pd.concat(frames, ignore_index=True) if frames else _empty()


def separate_curves(
    per_group: PerGroupGlm, family: str, link: str, x_range: tuple[float, float], shown
) -> pd.DataFrame:
    """Step 4's curves: each fitted group's own regression, for the levels ``shown``."""
    x = _grid(x_range)
    fam = make_family(family, link)
    frames = [
        pd.DataFrame(
            {
                "group": level,
                "x": x,
                "y": fam.linkinv(
                    fit.coefficient("(Intercept)") + fit.coefficient(per_group.predictor) * x
                ),
            }
        )
        for level, fit in zip(per_group.levels, per_group.fits, strict=True)
        if fit is not None and level in set(shown)
    ]
    return pd.concat(frames, ignore_index=True) if frames else _empty()


def _empty() -> pd.DataFrame:
    return pd.DataFrame({"group": pd.Series(dtype=str), "x": [], "y": []})
