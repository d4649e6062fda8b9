"""Plain-language "what this means" sentences, in the tutorial's words.

Each function takes a result and returns Markdown with every user-supplied
name escaped (``lib.present.markdown.md``). Numbers use three decimals, as the tutorial
quotes them, and p-values R's ``format.pval`` (``lib.present.numbers``). No Streamlit:
the views show the text, and ``singular`` names the simpler model as a
``Simplification`` that the app turns into its own toggles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lib.lmm import Anova, LmmFit
from lib.model.spec import ModelSpec, r_name
from lib.present import explain_levels
from lib.present.explain_levels import Simplification, every_level
from lib.present.markdown import code, md
from lib.present.numbers import num, p_text, pct
from lib.present.terms import Coefficient, Part, coefficient_parts


def formula(spec: ModelSpec) -> str:
    """The formula in words, quoting its random-effect terms exactly as they are shown."""
    term = spec.random[0]
    several = len(spec.random) > 1
    y, g = md(spec.outcome), md(term.name)
    parts = [f"You predict **{y}**"]
    mains = [t for t in spec.fixed_terms if t.order == 1]
    products = [t for t in spec.fixed_terms if t.order > 1]
    intercept = (
        f"with a fixed intercept ({code('1')})"
        if spec.intercept
        else f"without a fixed intercept ({code('0 +')})"
    )
    if mains:
        names = _and([f"**{md(t.columns[0])}**" for t in mains])
        parts.append(f" from {names} {intercept} and one overall slope for each predictor")
    elif products:
        parts.append(f" {intercept}")
    else:
        parts.append(f" {intercept} only: no overall slope")
    if products:
        labels = _and([code(t.label) for t in products])
        several_products = len(products) > 1
        parts.append(
            f"{',' if mains else ''} and the interaction{'s' if several_products else ''} "
            f"{labels}, which let{'' if several_products else 's'} the effect of one "
            "predictor depend on the value of the other"
        )
    parts.append(".")
    if several:
        return "".join(parts) + " " + explain_levels.formula(spec)
    group = ":".join(r_name(c) for c in term.group)
    slopes = [(md(s), r_name(s)) for s in term.slopes] + [
        (md(":".join(i)), ":".join(r_name(c) for c in i)) for i in term.interactions
    ]
    own_slopes = " and ".join(f"**{name}**" for name, _ in slopes)
    if term.correlated or term.q == 1:
        # One term, as spec.formula() writes it: (1 | g), (1 + x | g) or (0 + x | g).
        gives = (["its own baseline"] if term.intercept else []) + (
            [f"its own slope of {own_slopes}"] if slopes else []
        )
        parts.append(f" {code(term.formula())} gives each {g} {' and '.join(gives)}.")
        if term.intercept and slopes:
            parts.append(" The correlation between baselines and slopes is estimated too.")
    else:
        if term.intercept:
            parts.append(f" {code(f'(1 | {group})')} gives each {g} its own baseline.")
        for name, rname in slopes:
            parts.append(
                f" {code(f'(0 + {rname} | {group})')} gives each {g} its own slope of **{name}**."
            )
        parts.append(" The baselines and slopes vary independently (no correlation estimated).")
    if not term.intercept:
        parts.append(f" The {code('0')} means no random intercept: every {g} shares one baseline.")
    return "".join(parts)


def _and(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def icc_caveat(spec: ModelSpec) -> str | None:
    """Why the ICC may leave out a random effect, or None when it counts them all.

    performance::icc (which the app reproduces) takes the random-effect variance
    at the rows of the *fixed-effects* design, so a random slope whose column is
    not a fixed effect adds nothing; for uncorrelated terms it counts only the
    first one (see ``lib.lmm.variance``).
    """
    notes = []
    ignored = [s for s in spec.slope_columns if s not in spec.fixed]
    if ignored:
        names = ", ".join(f"**{md(s)}**" for s in ignored)
        notes.append(
            "performance::icc ignores random slopes whose variable is not a fixed effect "
            f"(here {names})."
        )
    uncorrelated = [t for t in spec.random if not t.correlated and t.q > 1]
    if uncorrelated:
        first = uncorrelated[0].names[0]
        what = "the random intercept" if first == "(Intercept)" else f"the slope of {md(first)}"
        notes.append(
            "performance::icc counts only the first of uncorrelated random-effect terms "
            f"(here {what})."
        )
    if not notes:
        return None
    return (
        " ".join(notes) + " The ICC shown is R's value, so it can understate the clustering: "
        "read the variances in the Random effects table as well."
    )


def criterion(fit: LmmFit) -> str:
    if fit.reml:
        return (
            f"{num(fit.criterion)} is the value of the REML (restricted maximum likelihood) "
            "objective. It is not useful on its own: lower is better only when comparing models "
            "fitted by REML with the same fixed effects. To compare models with different fixed "
            "effects, switch to ML or use the likelihood-ratio tests on the Compare page."
        )
    return (
        f"{num(fit.criterion)} is the deviance (−2 × log-likelihood) of the maximum-likelihood "
        "fit. Lower is better when comparing models fitted to the same rows; AIC and BIC add a "
        "penalty for the number of parameters."
    )


def residuals(quantiles: np.ndarray) -> str:
    q = np.asarray(quantiles, float)
    lo, q1, med, q3, hi = q
    symmetric = (
        abs(med) < 0.25
        and hi > 0
        and q3 > 0
        and 0.67 < abs(lo) / hi < 1.5
        and 0.67 < abs(q1) / q3 < 1.5
    )
    if symmetric:
        verdict = "A roughly symmetric distribution around 0 is good, and we have that here."
    else:
        verdict = (
            "They are not symmetric around 0: look for outliers or a skewed outcome "
            "(a transformation may help)."
        )
    extreme = (
        " Values beyond ±3 mean some observations sit more than 3 residual SDs from their "
        "prediction."
        if max(abs(lo), abs(hi)) > 3
        else ""
    )
    return (
        "These are the residuals (observed − predicted) divided by the residual standard "
        f"deviation. {verdict}{extreme}"
    )


def varcorr(fit: LmmFit) -> str:
    if len(fit.varcorr.terms) > 1:
        return explain_levels.varcorr(fit)
    vc = fit.varcorr.terms[0]
    g, y = md(vc.group), md(fit.spec.outcome)
    out = []
    for k, name in enumerate(vc.names):
        what = "baseline " + y if name == "(Intercept)" else f"slopes of {md(name)}"
        out.append(
            f"The {g} {md(name)} variance ({num(vc.variances[k])}, SD {num(vc.sd[k])}) is the "
            f"variation in {what} between {g} groups."
        )
    out.append(
        f"The residual variance ({num(fit.varcorr.residual_variance)}) is the variation "
        f"within groups (among observations of the same {g})."
    )
    if list(vc.names) == ["(Intercept)"]:
        between = vc.variances[0]
        total = between + fit.varcorr.residual_variance
        out.append(
            f"ICC = {num(between)} / ({num(between)} + {num(fit.varcorr.residual_variance)}) = "
            f"{num(between / total)}: {pct(between / total)} of the variation in {y} lies "
            f"between {g} groups."
        )
    out += explain_levels.correlation_sentence(vc, "The correlation", "groups")
    return " ".join(out)


def fixef(fit: LmmFit) -> str:
    y = md(fit.spec.outcome)
    b, t = fit.beta, fit.beta_t
    coefs = coefficient_parts(fit.spec, fit.fixef_names)
    out = []
    for k, c in enumerate(coefs):
        if c.is_intercept:
            conditions = _at_zero(fit.spec, coefs, ())
            adjusted = fit.spec.random[0].intercept
            out.append(
                f"The average baseline {y} is {num(b[k])} "
                + (f"when {conditions}" if conditions else "averaged over everything")
                + (" (adjusted for the random intercepts)." if adjusted else ".")
            )
        else:
            out.append(f"{_coefficient(fit.spec, coefs, c, float(b[k]), y)} (t = {num(t[k], 2)}).")
    out.append(_significance(fit))
    names, df = list(fit.fixef_names), fit.beta_df
    small_df = [md(n) for k, n in enumerate(names) if df[k] < 10]
    if small_df:
        groups = explain_levels.fewest_groups(fit) if len(fit.ranef) > 1 else fit.ranef[0].nlevels
        out.append(
            f"With {groups} groups the Satterthwaite degrees of freedom of "
            f"{', '.join(small_df)} are small, so their p-values are cautious."
        )
    return " ".join(out)


def _is_factor(coefs: Sequence[Coefficient], column: str) -> bool:
    return any(p.column == column and p.is_dummy for c in coefs for p in c.parts)


def _condition(coefs: Sequence[Coefficient], column: str) -> str:
    if _is_factor(coefs, column):
        return f"**{md(column)}** is at its reference category"
    return f"{md(column)} = 0"


def _at_zero(spec: ModelSpec, coefs: Sequence[Coefficient], columns: Sequence[str]) -> str:
    """Where the other predictors are "zero": numeric columns at 0, factors at their
    reference category (only factors coded by contrasts have one)."""
    out = []
    for column in spec.fixed_columns:
        if column in columns:
            continue
        if _is_factor(coefs, column) and not any(
            c.contrast(p) for c in coefs for p in c.parts if p.column == column
        ):
            continue
        out.append(_condition(coefs, column))
    return " and ".join(out)


def _partners(spec: ModelSpec, coefs: Sequence[Coefficient], column: str) -> str:
    """The columns a main effect interacts with, as conditions (empty when none)."""
    others = [c for t in spec.fixed_terms if t.order > 1 and column in t.columns for c in t.columns]
    others = [c for c in dict.fromkeys(others) if c != column]
    return " and ".join(_condition(coefs, c) for c in others)


def _level(part: Part) -> str:
    return f"**{md(part.column)}** is **{md(part.level)}**"


def _more(value: float) -> str:
    return f"{num(abs(value))} {'higher' if value >= 0 else 'lower'}"


def _coefficient(
    spec: ModelSpec, coefs: Sequence[Coefficient], c: Coefficient, b: float, y: str
) -> str:
    """One fixed effect in words (no closing full stop; the caller adds the t value)."""
    numeric, dummies = c.numeric, c.dummies
    if not c.is_interaction:
        part = c.parts[0]
        where = _partners(spec, coefs, part.column)
        where = f" where {where}" if where else ""
        if not part.is_dummy:
            return (
                f"Each additional unit of {md(part.label)} changes the predicted {y} by {num(b)} "
                f"on average across groups{where}"
            )
        if c.contrast(part):
            return (
                f"The category {md(part.label)} ({_level(part)}) differs from the reference "
                f"category by {num(b)} in predicted {y}{where}"
            )
        return f"The category {md(part.label)} ({_level(part)}) has predicted {y} {num(b)}{where}"
    if len(numeric) == 1 and all(c.contrast(p) for p in dummies):
        levels = " and ".join(_level(p) for p in dummies)
        return (
            f"The slope of **{md(numeric[0].label)}** is {_more(b)} where {levels} than at the "
            "reference category"
        )
    if len(numeric) == 1:
        levels = " and ".join(_level(p) for p in dummies)
        return f"Where {levels}, the slope of **{md(numeric[0].label)}** is {num(b)}"
    if len(numeric) == 2 and not dummies:
        slopes = {s for t in spec.random for s in t.slopes}
        # Speak of the slope that varies between groups (a cross-level interaction
        # explains it), else of the first column's.
        swap = numeric[1].column in slopes and numeric[0].column not in slopes
        x, z = (numeric[1], numeric[0]) if swap else numeric
        return (
            f"The slope of **{md(x.label)}** is {_more(b)} for each additional unit of "
            f"**{md(z.label)}** (and the slope of {md(z.label)} likewise for each unit of "
            f"{md(x.label)})"
        )
    if not numeric and all(c.contrast(p) for p in dummies):
        levels = " and ".join(_level(p) for p in dummies)
        return (
            f"Where {levels} together, the predicted {y} is {_more(b)} than the separate "
            "differences of these categories add up to"
        )
    product = " × ".join(md(p.label) for p in c.parts)
    return f"The interaction {md(c.name)} adds {num(b)} × ({product}) to the predicted {y}"


def fixef_corr(fit: LmmFit) -> str:
    if len(fit.fixef_names) < 2:
        return "With a single fixed effect there is nothing to correlate."
    r = float(fit.fixef_corr[1, 0])
    size = "strong" if abs(r) > 0.7 else "moderate" if abs(r) > 0.3 else "slight"
    sign = "negative" if r < 0 else "positive"
    first, second = (md(n) for n in fit.fixef_names[:2])
    coefs = coefficient_parts(fit.spec, fit.fixef_names[:2])
    if not coefs[0].is_intercept or coefs[1].is_interaction or coefs[1].dummies:
        return (
            f"There is a {size} {sign} correlation ({num(r)}) between the estimates of {first} "
            f"and {second}. It describes the estimates, not the groups: values near ±1 mean "
            "the two are hard to separate."
        )
    return (
        f"There is a {size} {sign} correlation ({num(r)}) between the intercept and slope "
        "estimates. It describes the estimates, not the groups: "
        + (
            "a steeper fitted slope goes with a lower fitted intercept, because the data lie "
            "far from x = 0. "
            if r < 0
            else "a steeper fitted slope goes with a higher fitted intercept. "
        )
        + "Values near ±1 mean the two are hard to separate (centring the predictor helps)."
    )


def ranef(fit: LmmFit, group: str | None = None) -> str:
    if len(fit.ranef) > 1:
        return explain_levels.ranef(fit, group or fit.ranef[0].group)
    factor = fit.ranef[0]
    b = np.asarray(factor.modes, float)
    g = md(factor.group)
    out = []
    for k, name in enumerate(factor.names):
        hi, lo = int(np.argmax(b[:, k])), int(np.argmin(b[:, k]))
        what = "baseline" if name == "(Intercept)" else f"slope of {md(name)}"
        if name in fit.fixef_names:
            out.append(
                f"{md(factor.levels[hi])} has the highest {what} ({_signed(b[hi, k])} relative "
                f"to the fixed effect), {md(factor.levels[lo])} the lowest "
                f"({_signed(b[lo, k])})."
            )
        else:
            # No fixed effect of this name: the random effect is the group's whole value.
            out.append(
                f"{md(factor.levels[hi])} has the highest {what} ({num(b[hi, k])}), "
                f"{md(factor.levels[lo])} the lowest ({num(b[lo, k])}). The model has no fixed "
                f"{'intercept' if name == '(Intercept)' else 'slope'} for it, so these are the "
                f"{g} groups' own {what}s, not deviations from an overall value."
            )
    out.append(
        f"Intervals are ±1.96 conditional SDs: they show how precisely each {g}'s deviation is "
        "known. These are shrunken (partially pooled) estimates: small groups are pulled "
        "towards the overall line."
    )
    return " ".join(out)


def icc_r2(fit: LmmFit) -> str:
    out = []
    left_out = _left_out_slopes(fit)
    if fit.icc is not None:
        a = fit.icc.adjusted
        rule = (
            "That is substantial clustering: a multilevel model is warranted (rule of thumb: "
            "ICC ≥ 0.10)."
            if a >= 0.10
            else "That is small clustering (below 0.05 is often called negligible)."
            if a < 0.05
            else "That is modest clustering (between the 0.05 and 0.10 rules of thumb)."
        )
        if icc_caveat(fit.spec):
            rule = "Part of the random effects is left out of this ICC (see the note above)."
        if len(fit.ranef) > 1:
            out.append(f"{explain_levels.icc(fit)} {rule}")
        else:
            out.append(
                f"{pct(a)} of the variance not explained by the fixed effects lies between "
                f"{md(fit.ranef[0].group)} groups (adjusted ICC {num(a)}). {rule}"
            )
    elif "(Intercept)" not in fit.fixef_names and fit.r2 is None:
        out.append(
            f"ICC and R² are not shown: the model has no fixed intercept ({code('0 +')}) and "
            "its fixed effects do not stand in for one, so the random intercepts hold the "
            "outcome's distance from zero, not how groups differ; performance::icc would "
            "still print numbers. Keep the intercept to see them."
        )
    else:
        out.append("The ICC is undefined here (a variance is estimated as zero).")
    if fit.r2 is not None:
        out.append(
            f"The fixed effects explain {pct(fit.r2.marginal)} of the variance (marginal R²); "
            f"fixed and random effects together explain {pct(fit.r2.conditional)} "
            "(conditional R²)."
        )
    if left_out:
        names = ", ".join(f"{md(n)} (variance {num(v)})" for n, v in left_out)
        out.append(
            f"Neither the ICC nor the R² counts the random slope of {names}: performance "
            "(whose numbers these are) counts a random slope only when its variable is also a "
            "fixed effect. The groups do differ in their slopes; the Random effects table "
            "shows by how much. Add the fixed slope to have it counted."
        )
    return " ".join(out)


def _left_out_slopes(fit: LmmFit) -> list[tuple[str, float]]:
    """Random slopes with a positive variance that performance's ICC/R² ignore
    (their variable is not a fixed effect)."""
    out = []
    for term in fit.varcorr.terms:
        for name, var in zip(term.names, term.variances, strict=True):
            if name != "(Intercept)" and name not in fit.fixef_names and var > 0:
                out.append((name, float(var)))
    return out


def _significance(fit: LmmFit) -> str:
    """Which fixed effects differ from 0 at the 5% level, by the Satterthwaite p shown."""
    names = list(fit.fixef_names)
    p = np.asarray(fit.beta_p, float)
    clear = [md(n) for k, n in enumerate(names) if p[k] < 0.05]
    unclear = [f"{md(n)} ({p_text(p[k])})" for k, n in enumerate(names) if not p[k] < 0.05]
    parts = []
    if clear:
        parts.append(
            f"By the Satterthwaite p-values in the table, {', '.join(clear)} "
            f"{'is' if len(clear) == 1 else 'are'} clearly different from 0 (p < 0.05)."
        )
    if unclear:
        parts.append(f"Not clearly different from 0 at the 5% level: {', '.join(unclear)}.")
    return " ".join(parts)


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "−") + num(abs(value))


def singular(
    fit: LmmFit, has_toggles: Callable[[str], bool] = every_level
) -> tuple[str, Simplification | None]:
    """Why the fit is singular, and the simpler model to try (None: nothing to offer).

    ``has_toggles(column)`` says whether the app has toggles for the level whose own
    grouping column is ``column`` (models with several terms offer a change only then);
    the one-term model's change is to the model's only level (``Simplification.column``
    None).
    """
    if len(fit.varcorr.terms) > 1:
        return explain_levels.singular(fit, has_toggles)
    vc = fit.varcorr.terms[0]
    rel = vc.sd / max(fit.varcorr.residual_sd, 1e-300)
    g = md(vc.group)
    zero = [k for k in range(len(vc.names)) if rel[k] < 1e-3]
    if zero:
        k = zero[0]
        name = vc.names[k]
        what = "baselines" if name == "(Intercept)" else f"slopes of {md(name)}"
        text = (
            f"The model is **singular**: the variance of the {what} between {g} groups is "
            "estimated as (almost) zero. The data show no detectable differences in "
            f"{what} beyond what the residual noise explains, so this random effect is at the "
            "boundary of what the model allows and its estimates are unreliable. "
        )
        if name == "(Intercept)":
            offer = Simplification("intercept", None, "Drop the random intercept")
        else:
            offer = Simplification("slope", None, "Drop the random slope")
        if len(vc.names) == 1:
            text += (
                "With no random effect left the model would be an ordinary regression (see the "
                "Compare page)."
            )
            return text, None
        return text + "Try the simpler model:", offer
    text = (
        "The model is **singular**: the random intercepts and slopes are estimated as "
        "perfectly correlated (±1), so the model cannot tell them apart. Few groups "
        f"({fit.ranef[0].nlevels}) make this likely."
    )
    term = fit.spec.random[0]
    factor = next((s for s in term.slopes if s not in vc.names), None)
    if factor is not None:
        # A categorical column on the left of "|" (its effects are its dummies): without
        # the correlation lme4's model is not identified (lib.model.random_effects).
        g = ":".join(r_name(c) for c in term.group)
        simpler = f"(1 | {g}) + (1 | {g}:{r_name(factor)})"
        return text + f" A simpler model to type in the formula box: `{simpler}`.", None
    return text + " Try the model without the correlation:", Simplification(
        "correlation", None, "Remove the correlation"
    )


def anova(result: Anova) -> str:
    rows = result.rows
    out = [
        "Each line tests a model against the line above it (models sorted by number of "
        "parameters); a small p-value means the extra parameters improve the fit."
    ]
    if result.refitted_ml:
        out.append("As lme4's anova does, the models were refitted with ML for these tests.")
    best = min(range(len(rows)), key=lambda k: rows[k].aic)
    out.append(
        f"The lowest AIC ({num(rows[best].aic)}) belongs to {code(rows[best].formula)}. "
        "Tests between models that are not nested (one is not a special case of the other) "
        "are not valid: compare those by AIC/BIC only."
    )
    return " ".join(out)
