"""Sentences about a model comparison, the same for Compare, Ladder, Lesson and the report.

Written from a ``lib.classroom.comparison.Comparison`` only, so every page that explains
a comparison quotes the same criterion (AIC and BIC of the ML fits), the same best model
and the same tests, and says why a pair gets no test. Plain text; names go through
``quote`` (the app passes an escaping, bolding function).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lib.classroom.comparison import NO_SMALLER_NESTED, ComparedModel, Comparison
from lib.present.numbers import num, p_text

Quote = Callable[[str], str]
ALPHA = 0.05


def _q(text: str) -> str:
    return f"'{text}'"


def scale_sentence(result: Comparison) -> str:
    """On which likelihood the models are compared, and why."""
    if result.refitted:
        return (
            "All models are compared on maximum-likelihood (ML) fits: the REML fits were "
            "refitted with ML, as lme4's anova() does, because REML numbers compare only "
            "models with the same fixed effects."
        )
    return "All models were fitted by maximum likelihood (ML), so they compare directly."


def best_sentence(result: Comparison, quote: Quote = _q) -> str:
    """The lowest AIC (ML) and BIC (ML), with the models they belong to."""
    aic, bic = result.models[result.best_aic], result.models[result.best_bic]
    if aic is bic:
        return (
            f"Lower is better: the lowest AIC (ML), {num(aic.aic, 1)}, and the lowest BIC "
            f"(ML), {num(bic.bic, 1)}, both belong to {quote(aic.label)}."
        )
    return (
        f"Lower is better: the lowest AIC (ML) is {num(aic.aic, 1)}, {quote(aic.label)}; "
        f"the lowest BIC (ML) is {num(bic.bic, 1)}, {quote(bic.label)} (BIC penalises "
        "parameters more)."
    )


def test_sentence(result: Comparison, model: ComparedModel, quote: Quote = _q) -> str:
    """The likelihood-ratio test of one model, or why it has none."""
    name = quote(model.label)
    if model.against is None:
        if model.reason != NO_SMALLER_NESTED:
            return f"{name} is the smallest model: the others are tested against it or not at all."
        text = f"{name} gets no test: no smaller model is a special case of it"
        k = result.models.index(model)
        same = [m for m in result.models[:k] if m.npar == model.npar]
        if same:
            text += (
                f" ({quote(same[0].label)} has as many parameters; R's anova() prints a χ² "
                "on 0 df for such a pair, which tests nothing)"
            )
        return text + "; compare it by AIC/BIC only."
    other = quote(result.models[model.against].label)
    verdict = "improves clearly on" if model.p < ALPHA else "does not clearly improve on"
    text = (
        f"{name} {verdict} {other} (χ² = {num(model.chisq, 2)} on {int(model.df)} df, "
        f"{p_text(model.p)})."
    )
    k = result.models.index(model)
    if model.against != k - 1:  # R's anova() tests each model against its neighbour by size
        text += (
            f" R's anova() would test it against {quote(result.models[k - 1].label)}, the "
            "model above it, but the two are not nested."
        )
    if model.on_boundary:
        text += (
            " The test adds a variance, which cannot be below 0: at that boundary the χ² "
            "p-value is conservative (too large)"
        )
        if np.isfinite(model.p_boundary):
            text += f"; against the right mixture of χ² distributions, {p_text(model.p_boundary)}"
        text += "."
    return text


def sentences(result: Comparison, quote: Quote = _q) -> list[str]:
    """The scale, the best model by AIC/BIC, then one sentence per model (lme4's order)."""
    out = [scale_sentence(result), best_sentence(result, quote)]
    out += [test_sentence(result, m, quote) for m in result.models[1:]]
    return out
