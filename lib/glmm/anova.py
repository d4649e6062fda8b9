"""Likelihood-ratio tests between GLMMs, as lme4's ``anova(m1, m2)`` for glmer fits.

lme4's ``anova.merMod`` (``R/lmer.R``): models sorted by number of parameters,
each tested against the one before it with Chisq = 2 max(0, diff logLik) on
diff(npar) df; for glmer there is no refit (no REML), and the logLik is the
Laplace (or AGQ) one, so the table is ``lib.lmm.anova.compare_fits``'s with GLMM
fits. ``ComparableGlmm`` gives a GLMM fit the attributes that function and the
classroom's one comparison rule (``lib.classroom.comparison.compare_models``)
read (``spec``, ``npar``, ``reml``, ``formula``, ``loglik``...), so both accept
GLMMs unchanged.

Extra checks lme4 leaves out: the models must share the family, link, trials and
offset (their likelihoods are of the same data), and either all be Laplace fits
or all AGQ fits (glmer's AGQ logLik leaves out the saturated log-likelihood,
docs/glmm-design.md 1.5, so it cannot be set against a Laplace one) -- except for a
0/1 outcome, whose saturated log-likelihood is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lib.errors import SpecError
from lib.glmm.result import GlmmFit
from lib.lmm.anova import Anova, compare_fits
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec, r_name


@dataclass(frozen=True, eq=False)
class ComparableGlmm:
    """A GLMM fit with its spec and family, read like an ``LmmFit`` by comparisons.

    Attributes
    ----------
    fit : GlmmFit
    spec : ModelSpec
    response_family : ResponseFamily
    """

    fit: GlmmFit
    spec: ModelSpec
    response_family: ResponseFamily

    @property
    def npar(self) -> int:
        """lme4's count: theta and beta (no scale parameter)."""
        return self.fit.n_parameters

    @property
    def reml(self) -> bool:
        return False

    @property
    def criterion(self) -> float:
        return self.fit.deviance

    @property
    def loglik(self) -> float:
        return self.fit.loglik

    @property
    def aic(self) -> float:
        return self.fit.aic

    @property
    def bic(self) -> float:
        return self.fit.bic

    @property
    def nobs(self) -> int:
        return self.fit.nobs

    @property
    def formula(self) -> str:
        """The glmer formula: ``cbind(s, n - s) ~ ...`` with trials, ``+ offset(o)``."""
        text = self.spec.formula()
        rf = self.response_family
        if rf.trials is not None:
            outcome = r_name(self.spec.outcome)
            text = f"cbind({outcome}, {r_name(rf.trials)} - {outcome})" + text[len(outcome) :]
        if rf.offset is not None:
            text += f" + offset({r_name(rf.offset)})"
        return text


def check_comparable(models: Sequence[ComparableGlmm]) -> None:
    """Refuse GLMMs whose likelihoods cannot be set against each other."""
    if len(models) < 2:
        raise SpecError(f"A comparison needs at least 2 models, got {len(models)}.")
    families = {
        (m.response_family.family, m.response_family.link_name, m.response_family.trials,
         m.response_family.offset)
        for m in models
    }  # fmt: skip
    if len(families) != 1:
        raise SpecError(
            "Models can only be compared by their likelihoods with the same family, link, "
            "trials and offset columns."
        )
    quadrature = {m.fit.nagq > 1 for m in models}
    if len(quadrature) != 1 and not _zero_one(models[0].response_family):
        raise SpecError(
            "A Laplace fit (nAGQ = 1) and an adaptive Gauss-Hermite fit (nAGQ > 1) cannot be "
            "compared: glmer's AGQ log-likelihood leaves out a constant the Laplace one has. "
            "Fit both with the same nAGQ."
        )
    if any(m.fit.nagq == 0 for m in models):
        raise SpecError(
            "nAGQ = 0 fits maximise an approximation that is not a likelihood of beta; "
            "compare Laplace (nAGQ = 1) fits."
        )


def _zero_one(response_family: ResponseFamily) -> bool:
    """A binomial outcome without trials is 0/1 (``lib.glmm.response.response_of``): its
    saturated log-likelihood, which glmer's AGQ deviance leaves out, is 0, so Laplace and
    AGQ log-likelihoods are on one scale (tests/reference/glmm_compare_nagq.R: lme4's
    anova of such a mix)."""
    return response_family.family == "binomial" and response_family.trials is None


def anova_glmm(models: Sequence[ComparableGlmm]) -> Anova:
    """lme4's ``anova(m1, m2, ...)`` for glmer fits (no refit): rows by number of
    parameters, each tested against the one before."""
    check_comparable(models)
    return compare_fits(list(models))
