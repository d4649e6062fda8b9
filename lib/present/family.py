"""How a generalized model's family is written: glmer's formula, R's family call, ratio names.

One place for the words and code fragments that depend on ``ResponseFamily``: the
printout (``lib.present.glmm_text``), the code snippets, the CLI's JSON and the
explanations all take them from here, so they name the family the same way.

The formula is lme4's: a trials column makes the outcome ``cbind(s, n - s)`` (glmer's
two-column binomial response, ``?glmer``: "successes and failures"), and an offset
column is added as ``offset(column)``, R's way of adding a known term to the linear
predictor (``?offset``).
"""

from __future__ import annotations

from lib.model.response import LINKS, ResponseFamily
from lib.model.spec import ModelSpec, r_name

#: exp(beta) is a ratio of odds under the logit link and of rates (means) under log.
RATIO_NAMES = {"logit": "odds ratio", "log": "rate ratio"}


def glmer_formula(spec: ModelSpec, response: ResponseFamily) -> str:
    """The lme4 formula of ``spec`` with ``response``'s trials and offset, as glmer takes it.

    ``cbind(incidence, size - incidence) ~ 1 + period + (1 | herd)`` for successes out
    of trials; ``y ~ 1 + x + offset(log_exposure) + (1 | g)`` with an offset column.
    Names that are not syntactic in R are in backticks (``r_name``).
    """
    text = spec.formula()  # "outcome ~ fixed + random", both parts known exactly
    outcome = r_name(spec.outcome)
    random = " + ".join(t.formula() for t in spec.random)
    lhs, fixed = outcome, text[len(outcome) + 3 : len(text) - len(random) - 3]
    if response.trials is not None:
        lhs = f"cbind({outcome}, {r_name(response.trials)} - {outcome})"
    if response.offset is not None:
        # lme4 prints offset() where it was written; after the fixed terms reads best.
        fixed = f"{fixed} + offset({r_name(response.offset)})"
    rhs = f"{fixed} + {random}"
    return f"{lhs} ~ {rhs}"


def r_family(response: ResponseFamily) -> str:
    """R's family argument: ``binomial``, ``binomial(link = "probit")``, ``poisson``."""
    if response.link_name == LINKS[response.family][0]:
        return response.family
    return f'{response.family}(link = "{response.link_name}")'


def family_line(response: ResponseFamily) -> str:
    """summary(glmer)'s ``Family:`` text, e.g. ``binomial  ( logit )``."""
    return f"{response.family}  ( {response.link_name} )"


def ratio_name(response: ResponseFamily) -> str | None:
    """The name of exp(beta): odds ratio (logit), rate ratio (log), else None."""
    if not response.generalized:
        return None
    return RATIO_NAMES.get(response.link_name)


def method_name(nagq: int) -> str:
    """How the likelihood was approximated, as summary(glmer) says it."""
    if nagq == 0:
        return "Laplace Approximation, nAGQ = 0"
    if nagq == 1:
        return "Laplace Approximation"
    return f"Adaptive Gauss-Hermite Quadrature, nAGQ = {nagq}"
