"""Lesson mode: the tutorial's steps, and what to look at in each, from live numbers.

The tutorial (N. Mevenkamp, *Advanced Statistics: Hierarchical Modeling*, 2025)
walks from the data to the multilevel model in nine steps: look at the data,
one regression line, dummy variables, separate regressions, then the null
model with its ICC, random intercept, random slope, random intercept and
slope, and a comparison. ``STEPS`` lists them; ``parse_step`` reads a step
number from a link; each ``look_*`` function writes the "what to look at" text
of its step from the results of the active data set (never canned numbers).

Texts are plain Markdown-free sentences except for names, which go through
``quote`` (the app passes an escaping, bolding function; the default quotes
with single quotes), so this module stays free of any UI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lib.classroom import comparison_text
from lib.classroom.comparison import Comparison
from lib.explore.groups import GroupSummary, MeanDifferences
from lib.lmm import LmmFit
from lib.ols.regressions import OlsFit, PerGroupOls
from lib.present.numbers import num, pct

Quote = Callable[[str], str]

DATA, OLS, DUMMY, SEPARATE, NULL, RI, RS, FULL, COMPARE = (
    "data",
    "ols",
    "dummy",
    "separate",
    "null",
    "random_intercept",
    "random_slope",
    "random_intercept_slope",
    "comparison",
)


@dataclass(frozen=True)
class Step:
    """One step of the lesson.

    Attributes
    ----------
    number : int
        1-based; the ``step`` URL parameter.
    key : str
        Stable name of the step (``"null"``).
    title : str
    question : str
        The question the step answers, in the tutorial's words.
    needs_predictor : bool
        Whether the step needs a numeric predictor (a slope).
    """

    number: int
    key: str
    title: str
    question: str
    needs_predictor: bool


STEPS: tuple[Step, ...] = (
    Step(1, DATA, "Look at the data", "Do the groups differ?", False),
    Step(
        2,
        OLS,
        "One regression line",
        "Simple linear regression: constant intercept, constant slope.",
        True,
    ),
    Step(
        3,
        DUMMY,
        "Dummy variables",
        "One intercept per group, one shared slope.",
        True,
    ),
    Step(
        4,
        SEPARATE,
        "Separate regressions",
        "A regression per group: varying intercepts, varying slopes, nothing shared.",
        True,
    ),
    Step(5, NULL, "Null model and ICC", "How much of the variation lies between groups?", False),
    Step(
        6,
        RI,
        "Random intercept",
        "Groups differ in their baseline; one slope for all.",
        True,
    ),
    Step(7, RS, "Random slope", "Groups differ in their slope; one baseline for all.", True),
    Step(
        8,
        FULL,
        "Random intercept and slope",
        "Groups differ in baseline and slope, and the two may be correlated.",
        True,
    ),
    Step(9, COMPARE, "Compare the models", "Which model describes the data best?", True),
)


def parse_step(raw: object) -> tuple[int, str | None]:
    """The step a link asks for, and why it was not usable (None when it was).

    Parameters
    ----------
    raw : str or None
        The ``step`` URL value; None or "" means "no step given" (step 1, no message).

    Returns
    -------
    (int, str or None)
        A valid step number (1 when ``raw`` is not one) and a plain-text reason.
    """
    if raw is None or str(raw).strip() == "":
        return 1, None
    text = str(raw).strip()
    try:
        number = int(text)
    except ValueError:
        return 1, f"'{text[:20]}' is not a step number (the lesson has steps 1 to {len(STEPS)})"
    if not 1 <= number <= len(STEPS):
        return 1, f"there is no step {number} (the lesson has steps 1 to {len(STEPS)})"
    return number, None


def step(number: int) -> Step:
    """The step with this 1-based number."""
    return STEPS[number - 1]


def _q(text: str) -> str:
    return f"'{text}'"


def look_data(groups: GroupSummary, quote: Quote = _q) -> str:
    """Step 1: how far apart the group means are, against the spread within groups."""
    mean, sd = np.asarray(groups.mean, float), np.asarray(groups.sd, float)
    hi, lo = int(np.nanargmax(mean)), int(np.nanargmin(mean))
    typical_sd = float(np.nanmedian(sd)) if np.isfinite(sd).any() else float("nan")
    return (
        f"Compare the {len(groups.levels)} histograms: do the groups sit in different places? "
        f"The mean {quote(groups.outcome)} runs from {num(mean[lo])} "
        f"({quote(groups.levels[lo])}) to {num(mean[hi])} ({quote(groups.levels[hi])}), a gap "
        f"of {num(mean[hi] - mean[lo])}, while a group's typical SD is {num(typical_sd)}. "
        "Gaps between means that are large against the spread within groups are what the "
        "later models have to explain."
    )


def look_ols(fit: OlsFit, predictor: str, group: str, quote: Quote = _q) -> str:
    """Step 2: the single line, its slope and R², and what it ignores."""
    b = float(fit.coef[1])
    return (
        f"One line for all {fit.nobs:,} rows: each unit of {quote(predictor)} adds {num(b)} "
        f"to {quote(fit.outcome)}, and the line explains {pct(fit.r2)} of the variance "
        f"(residual SE {num(fit.sigma)}). Look at the colours: do the points of one "
        f"{quote(group)} sit mostly above or below the line? Then the residuals of a group "
        "are not independent, which this model assumes."
    )


def look_dummy(diffs: MeanDifferences, simple: OlsFit, quote: Quote = _q) -> str:
    """Step 3: parallel lines; how much the residual SE and R² change against step 2."""
    fit = diffs.fit
    return (
        f"Each {quote(diffs.group)} gets its own intercept; all share the slope "
        f"{num(diffs.slope)} (one line: {num(float(simple.coef[1]))}). The residual SE drops "
        f"from {num(simple.sigma)} to {num(fit.sigma)} and R² rises from {pct(simple.r2)} to "
        f"{pct(fit.r2)}: the groups' baselines explain much of what one line left over. "
        f"The price: {len(diffs.levels) - 1} dummy variables, one per group but the first."
    )


def look_separate(per_group: PerGroupOls, quote: Quote = _q) -> str:
    """Step 4: how much the slopes differ, and how little data the smallest group has."""
    coef = per_group.coef_matrix()
    slopes = coef[:, 1] if coef.shape[1] > 1 else np.full(len(per_group.levels), np.nan)
    sizes = np.array([f.nobs for f in per_group.fits])
    small = int(np.argmin(sizes))
    if not np.isfinite(slopes).any():
        spread = "No group has a slope (the predictor is constant within groups)."
    else:
        hi, lo = int(np.nanargmax(slopes)), int(np.nanargmin(slopes))
        spread = (
            f"The slopes run from {num(slopes[lo])} ({quote(per_group.levels[lo])}) to "
            f"{num(slopes[hi])} ({quote(per_group.levels[hi])})."
        )
    return (
        f"{spread} Are the lines really different, or is that noise? Each line rests on its "
        f"own group's rows alone (the smallest, {quote(per_group.levels[small])}, has "
        f"{int(sizes[small])}): nothing is borrowed from the other groups, and there is no "
        "overall slope."
    )


def _intercept_variance(fit: LmmFit) -> float:
    term = fit.varcorr.terms[0]
    names = list(term.names)
    return float(term.variances[names.index("(Intercept)")]) if "(Intercept)" in names else 0.0


def look_null(fit: LmmFit, quote: Quote = _q) -> str:
    """Step 5: the two variances and the ICC computed from them."""
    tau2 = _intercept_variance(fit)
    sigma2 = float(fit.varcorr.residual_variance)
    icc = tau2 / (tau2 + sigma2) if tau2 + sigma2 > 0 else float("nan")
    g = quote(fit.varcorr.terms[0].group)
    verdict = (
        "substantial clustering: a multilevel model is warranted (rule of thumb ICC ≥ 0.10)"
        if icc >= 0.10
        else "little clustering (below 0.05 is often called negligible)"
        if icc < 0.05
        else "modest clustering (between the 0.05 and 0.10 rules of thumb)"
    )
    return (
        f"No predictor yet: the model splits the variance of {quote(fit.spec.outcome)} into a "
        f"part between {g} groups (intercept variance {num(tau2)}) and a part within them "
        f"(residual variance {num(sigma2)}). The ICC is {num(tau2)} / ({num(tau2)} + "
        f"{num(sigma2)}) = {num(icc)}: {pct(icc)} of the variation lies between groups, "
        f"{verdict}."
    )


def _fixed(fit: LmmFit, name: str) -> tuple[float, float] | None:
    names = list(fit.fixef_names)
    if name not in names:
        return None
    k = names.index(name)
    return float(fit.beta[k]), float(fit.beta_se[k])


def look_random_intercept(
    fit: LmmFit, null: LmmFit | None, simple: OlsFit | None, quote: Quote = _q
) -> str:
    """Step 6: the fixed slope against one line's, and where the variance went."""
    # The step's predictor (it needs one) is the first main effect; an interaction
    # (``x:z``, a FixedTerm) has no single slope to quote, so its R label is named.
    terms = fit.spec.fixed_terms
    mains = [t.columns[0] for t in terms if t.order == 1]
    x = mains[0] if mains else terms[0].label
    b, se = _fixed(fit, x) or (float("nan"), float("nan"))
    out = [f"Each group keeps its own baseline; the slope of {quote(x)} is {num(b)} (SE {num(se)})"]
    if simple is not None:
        out.append(
            f", against {num(float(simple.coef[1]))} (SE {num(float(simple.se[1]))}) for one "
            "line that ignores the groups."
        )
    else:
        out.append(".")
    if null is not None:
        out.append(
            f" Adding {quote(x)} moves the residual variance from "
            f"{num(null.varcorr.residual_variance)} to {num(fit.varcorr.residual_variance)} "
            "and the intercept variance from "
            f"{num(_intercept_variance(null))} to {num(_intercept_variance(fit))}."
        )
    out.append(
        " Look at the chart: parallel lines, each pulled a little towards the overall line "
        "(partial pooling)."
    )
    return "".join(out)


def look_random_slope(fit: LmmFit, quote: Quote = _q) -> str:
    """Step 7: one baseline, group slopes with their spread (no fixed slope)."""
    term = fit.varcorr.terms[0]
    x = term.names[-1]
    sd = float(term.sd[-1])
    return (
        f"Here every group shares one baseline ({num(float(fit.beta[0]))}) and the slope of "
        f"{quote(x)} varies between groups with SD {num(sd)}. The model has no fixed slope, "
        "so each group's slope is its random effect itself, not a deviation. Look at the "
        "lines: they fan out from one point at x = 0, which is rarely what data look like."
    )


def look_full(fit: LmmFit, quote: Quote = _q) -> str:
    """Step 8: intercept and slope SDs, their correlation, singularity."""
    term = fit.varcorr.terms[0]
    x = term.names[-1]
    b, _ = _fixed(fit, x) or (float("nan"), float("nan"))
    text = (
        f"Now each group has its own baseline (SD {num(float(term.sd[0]))}) and its own slope "
        f"of {quote(x)} (SD {num(float(term.sd[-1]))}) around the average slope {num(b)}."
    )
    text += correlation_and_singularity(term, fit.singular)
    return text + " Compare the lines with the separate regressions of step 4."


def correlation_and_singularity(term: object, singular: bool) -> str:
    """Step 8's sentences on the intercept-slope correlation of a random term (lme4's
    ``VarCorr`` term: ``correlated``, ``names``, ``correlation``) and on a singular fit;
    the linear and the generalized lessons say the same."""
    text = ""
    if term.correlated and len(term.names) > 1:  # type: ignore[attr-defined]
        r = float(term.correlation[1, 0])  # type: ignore[attr-defined]
        if np.isfinite(r):
            text += (
                f" Their correlation is {num(r, 2)}: groups with a higher baseline tend to "
                f"have {'steeper' if r > 0 else 'flatter'} slopes."
            )
    if singular:
        text += (
            " The fit is singular: a variance or correlation sits at its boundary, so the data "
            "cannot support this many random effects."
        )
    return text


def look_comparison(result: Comparison, quote: Quote = _q) -> str:
    """Step 9: the models by AIC/BIC of their ML fits and the tests between nested ones.

    The numbers and sentences are ``lib.classroom.comparison_text``'s, so this step says
    what the Compare page and the Ladder say about the same models.
    """
    return " ".join(comparison_text.sentences(result, quote))
