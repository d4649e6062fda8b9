"""The equations of a binomial or Poisson mixed model, as LaTeX.

A generalized model has the same linear predictor as a linear one (the level-1,
level-2 and combined equations of ``lib.present.equations.model_equations``), but
what it predicts is the link of the mean, not the outcome, and there is no residual
term: the outcome's spread is the family's own (binomial or Poisson). So the
equations are the linear ones with

* the left-hand side ``logit(π_ij)`` (``probit``, ``cloglog``) or ``log(μ_ij)``, and
  the offset column as the first, known term of the right-hand side;
* no ``ε_ij``;
* the outcome's distribution ``y_ij ~ Bernoulli(π_ij)``, ``Binomial(n_ij, π_ij)`` or
  ``Poisson(μ_ij)`` in place of ``ε_ij ~ N(0, σ²)``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.present.equations import ModelEquations, latex_text, model_equations

LINK_LATEX = {
    "logit": r"\operatorname{logit}",
    "probit": r"\operatorname{probit}",
    "cloglog": r"\operatorname{cloglog}",
    "log": r"\log",
}


class _VarCorr:
    """A GlmmFit's terms as ``model_equations`` reads a linear VarCorr (no residual)."""

    residual_variance = 1.0  # unused: the residual line is replaced

    def __init__(self, terms: Sequence) -> None:
        self.terms = tuple(terms)


def glmm_equations(
    spec: ModelSpec,
    response: ResponseFamily,
    fixef_names: Sequence[str],
    beta: Sequence[float] | None = None,
    varcorr: Sequence | None = None,
    group_level: Collection[str] = (),
) -> ModelEquations:
    """``model_equations`` for a generalized model (arguments as there; ``varcorr`` is a
    GlmmFit's tuple of terms). ``distributions`` starts with the outcome's."""
    linear = model_equations(
        spec,
        fixef_names,
        beta,
        None if varcorr is None else _VarCorr(varcorr),
        group_level,
    )
    obs = "ij" if len(spec.factor_names) == 1 else _obs_of(linear.level1)
    y = latex_text(spec.outcome)
    old_lhs = f"{y}_{{{obs}}}"
    mean = rf"\pi_{{{obs}}}" if response.family == "binomial" else rf"\mu_{{{obs}}}"
    lhs = rf"{LINK_LATEX[response.link_name]}({mean}) = "
    if response.offset is not None:  # a known term, coefficient 1
        lhs += rf"{latex_text(response.offset)}_{{{obs}}} + "
    epsilon = rf" + \varepsilon_{{{obs}}}"

    def rewrite(text: str) -> str:
        return text.replace(f"{old_lhs} = ", lhs, 1).replace(epsilon, "")

    def rows(lines: Sequence[str]) -> tuple[str, ...]:
        out = [rewrite(line) for line in lines]
        return tuple(line for line in out if line.strip() not in ("", rf"+ \varepsilon_{{{obs}}}"))

    if response.family == "poisson":
        outcome = rf"{old_lhs} \sim \operatorname{{Poisson}}({mean})"
    elif response.trials is not None:
        n = rf"{latex_text(response.trials)}_{{{obs}}}"
        outcome = rf"{old_lhs} \sim \operatorname{{Binomial}}({n},\ {mean})"
    else:
        outcome = rf"{old_lhs} \sim \operatorname{{Bernoulli}}({mean})"
    return replace(
        linear,
        level1=rewrite(linear.level1),
        combined=rewrite(linear.combined),
        level1_rows=rows(linear.level1_rows),
        combined_rows=rows(linear.combined_rows),
        distributions=(outcome, *linear.distributions[1:]),
    )


def _obs_of(level1: str) -> str:
    """The observation index ``model_equations`` used (``ijk`` for three levels...)."""
    lhs = level1.split(" = ", 1)[0]
    return lhs[lhs.rindex("_{") + 2 : -1]


def fitted_glmm_equations(
    fit,  # noqa: ANN001 - a lib.glmm.GlmmFit
    spec: ModelSpec,
    response: ResponseFamily,
    group_level: Collection[str] = (),
) -> ModelEquations:
    """``glmm_equations`` with the fit's fixed effects and variances substituted."""
    return glmm_equations(spec, response, fit.fixef_names, fit.beta, fit.varcorr, group_level)
