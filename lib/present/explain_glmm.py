"""Plain-word sentences for a binomial or Poisson mixed model ("what this means").

The linear explanations (``lib.present.explain``) speak of differences in the outcome;
here a coefficient is a change on the link scale, which readers meet as a ratio:
exp(beta) multiplies the **odds** under the logit link ("the odds of passing are 1.8
times as high for each extra hour") and the **expected count** (or rate, with an
offset) under the log link. Probit and cloglog coefficients have no such reading and
are described on their link scale. Every effect is conditional on the random effects
(a typical group, random effects at 0), which the text says once, since the
population-averaged ratio of a logistic model is smaller (Zeger, Liang & Albert 1988).

Functions return Markdown; names are escaped with ``lib.present.markdown.md``, numbers
written by ``lib.present.numbers``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from lib.glmm.dispersion import dispersion_check
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.present.markdown import md
from lib.present.numbers import num, p_text, pct
from lib.present.terms import Coefficient, coefficient_parts

#: The ratio above which the message speaks of strong overdispersion (Gelman & Hill
#: 2007, 6.2); the test itself is performance::check_overdispersion's.
STRONG_DISPERSION = 2.0


def outcome_words(spec: ModelSpec, response: ResponseFamily) -> str:
    """What the model predicts, e.g. "the odds that **use** is **Y**"."""
    y = md(spec.outcome)
    if response.family == "poisson":
        if response.offset is not None:
            offset = md(response.offset)
            return f"the expected rate of **{y}** (per unit of exposure, offset {offset})"
        return f"the expected count of **{y}**"
    if response.trials is not None:
        return f"the odds of a success (**{y}** out of **{md(response.trials)}**)"
    if response.success is not None:
        return f"the odds that **{y}** is **{md(response.success)}**"
    return f"the odds that **{y}** is 1"


def short_words(response: ResponseFamily) -> str:
    """The same after its first mention: "the odds", "the expected count", "the rate"."""
    if response.family == "poisson":
        return "the expected rate" if response.offset is not None else "the expected count"
    return "the odds"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _verb(what: str) -> str:
    return "are" if what.startswith("the odds") else "is"


def _ratio(ratio: float) -> str:
    """A ratio to 2 decimals, or 3 significant digits when that would show 0.00."""
    return num(ratio, 2) if ratio >= 0.01 else f"{ratio:.3g}"


def _times(ratio: float) -> str:
    """"1.8 times as high" / "0.55 times as high (45% lower)"."""
    text = f"{_ratio(ratio)} times as high"
    if ratio < 1:
        text += f" ({pct(1 - ratio)} lower)"
    return text


def _where(c: Coefficient) -> str:
    levels = [f"**{md(p.column)}** is **{md(p.level)}**" for p in c.dummies]
    return " and ".join(levels)


def _ratio_sentence(c: Coefficient, what: str, ratio: float) -> str:
    numeric, dummies = c.numeric, c.dummies
    head = f"{_sentence(what)} {_verb(what)} {_times(ratio)}"
    if not c.is_interaction and numeric:
        return f"{head} for each extra unit of **{md(c.name)}**"
    if not c.is_interaction:
        return f"{head} where {_where(c)} as at its reference category"
    if len(numeric) == 1 and dummies:
        return (
            f"Where {_where(c)}, the ratio for each extra unit of **{md(numeric[0].label)}** is "
            f"multiplied by {num(ratio, 2)}"
        )
    return (
        f"The interaction **{md(c.name)}** multiplies {what} by a further {num(ratio, 2)}"
    )


def fixef(fit, spec: ModelSpec, response: ResponseFamily) -> str:  # noqa: ANN001
    """Each fixed effect as a ratio (logit: odds, log: counts or rates), with z and p."""
    coefs = coefficient_parts(spec, fit.fixef_names)
    what, short = outcome_words(spec, response), short_words(response)
    link = response.link_name
    out = []
    for k, c in enumerate(coefs):
        b, z, p = float(fit.beta[k]), float(fit.z[k]), float(fit.p_value[k])
        test = f"(z = {num(z, 2)}, {p_text(p)})"
        if c.is_intercept:
            out.append(_intercept(b, what, response) + ".")
        elif link in ("logit", "log"):
            out.append(f"{_ratio_sentence(c, short, math.exp(b))} {test}.")
        else:
            out.append(
                f"**{md(c.name)}** shifts the {link} of the probability by {num(b)} {test}."
            )
    out.append(
        "These are effects within a group (random effects held at 0); averaged over "
        "groups the ratios are closer to 1."
    )
    return " ".join(out)


def _intercept(b: float, what: str, response: ResponseFamily) -> str:
    link = response.link_name
    base = "When every predictor is 0 (factors at their reference category), "
    if link == "logit":
        return (
            f"{base}{what} {_verb(what)} {num(math.exp(b))} for a typical group: a probability of "
            f"{num(1 / (1 + math.exp(-b)))}"
        )
    if link == "log":
        return f"{base}{what} {_verb(what)} {num(math.exp(b))} for a typical group"
    prob = stats.norm.cdf(b) if link == "probit" else -math.expm1(-math.exp(b))
    return f"{base}the probability of a success is {num(float(prob))} for a typical group"


def varcorr(fit, response: ResponseFamily) -> str:  # noqa: ANN001
    """How much groups differ, on the ratio scale where there is one."""
    link = response.link_name
    scale = {"logit": "log-odds", "log": "log"}.get(link, link)
    out = []
    for term in fit.varcorr:
        for name, sd in zip(term.names, term.sd, strict=True):
            g = md(term.group)
            what = "baselines" if name == "(Intercept)" else f"effects of **{md(name)}**"
            text = (
                f"The {what} vary between **{g}** groups with an SD of {num(sd)} on the "
                f"{scale} scale"
            )
            if link in ("logit", "log") and name == "(Intercept)":
                word = "odds" if link == "logit" else "expected count"
                text += (
                    f": a group one SD above average has {word} {num(math.exp(sd), 2)} times "
                    "as high as an average group"
                )
            out.append(text + ".")
    return " ".join(out)


def dispersion(fit, response: ResponseFamily, trials=None) -> str | None:  # noqa: ANN001
    """Whether the counts vary more than the model allows (Poisson, or binomial with
    ``trials`` above 1): ``lib.glmm.dispersion.dispersion_check`` in words."""
    if response.family != "poisson" and (trials is None or not np.any(np.asarray(trials) > 1)):
        return None
    check = dispersion_check(fit, trials)
    head = (
        f"The dispersion ratio (Pearson χ² / residual df) is {num(check.ratio, 2)} "
        f"({p_text(check.p_value)})"
    )
    if not check.overdispersed:
        return head + ": no sign of overdispersion."
    strength = "strong" if check.ratio > STRONG_DISPERSION else "some"
    kind = "counts" if response.family == "poisson" else "proportions"
    return (
        f"{head}: there is {strength} **overdispersion**: the {kind} vary more than the "
        "model expects, so its standard errors are too small and its p-values too "
        "optimistic. Consider an observation-level random effect (1 | row id)"
        + (" or a negative-binomial model." if response.family == "poisson" else ".")
    )


def icc_r2(variances) -> str:  # noqa: ANN001 - lib.glmm.variance.LatentVariances
    """The latent-scale ICC and R² (performance's) in words, with its cautions."""
    text = (
        f"On the latent scale, {pct(variances.icc_adjusted)} of the variance left after the "
        f"fixed effects lies between groups (adjusted ICC). The fixed effects explain "
        f"{pct(variances.r2_marginal)} of the latent variance (marginal R²), fixed and "
        f"random effects together {pct(variances.r2_conditional)} (conditional R²)."
    )
    return " ".join([text, *variances.messages])


def criterion(fit) -> str:  # noqa: ANN001
    """The deviance and the information criteria in words."""
    return (
        f"The deviance (−2 × log-likelihood, Laplace approximation) is {num(fit.deviance, 1)}; "
        f"AIC {num(fit.aic, 1)} and BIC {num(fit.bic, 1)} compare models fitted to the same "
        "rows (lower is better)."
    )


def singular(fit) -> str | None:  # noqa: ANN001
    """Why a singular fit matters (None when the fit is not singular)."""
    if not fit.singular:
        return None
    zero = [
        (t.group, n) for t in fit.varcorr for n, sd in zip(t.names, t.sd, strict=True) if sd < 1e-4
    ]
    names = ", ".join(f"{md(n)} | {md(g)}" for g, n in zero) or "a correlation at ±1"
    return (
        f"The model is **singular** ({names}): a random effect is estimated at the boundary "
        "(no variation between groups, or correlations of ±1). Simplify the random part."
    )


def summary(
    fit,  # noqa: ANN001
    spec: ModelSpec,
    response: ResponseFamily,
    variances=None,  # noqa: ANN001 - lib.glmm.variance.LatentVariances
    trials=None,  # noqa: ANN001 - the trials column's values, for the dispersion check
) -> list[str]:
    """The paragraphs in reading order (fixed effects, groups, ICC/R² when ``variances``
    are given, dispersion, fit, singular)."""
    parts: Sequence[str | None] = (
        fixef(fit, spec, response),
        varcorr(fit, response),
        None if variances is None else icc_r2(variances),
        dispersion(fit, response, trials),
        criterion(fit),
        singular(fit),
    )
    return [p for p in parts if p]
