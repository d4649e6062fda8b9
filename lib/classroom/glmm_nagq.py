"""Which nAGQ a comparison of generalized mixed models uses, and the sentence that says so.

The Model page's likelihood approximation (glmer's ``nAGQ``) carries over to every page
that compares GLMMs (Compare, Ladder), so for the same models they show the same numbers.
glmer allows nAGQ > 1 for one scalar random effect only (``lib.glmm.agq.agq_applies``);
``lib.classroom.comparison.compare_glmm_specs`` fits those models with it and the others
by Laplace. Whether the two kinds of fit may stand in one table is
``lib.glmm.anova.check_comparable``'s rule: only for a 0/1 outcome, whose saturated
log-likelihood (the constant glmer's quadrature deviance leaves out) is 0
(tests/reference/glmm_compare_nagq.R). This module picks the nAGQ that rule allows and
words the choice once, for every page.
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.glmm.agq import agq_applies
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec

# The Ladder may offer fewer than the tutorial's four steps (``lib.classroom.ladder.presets``).
ALL = {2: "Both", 3: "All three", 4: "All four"}


def used_nagq(
    nagq: int, family: ResponseFamily, specs: Mapping[str, ModelSpec]
) -> tuple[int, str | None]:
    """The nAGQ the comparison uses (for the models that allow it; the others are Laplace
    fits) and, when some or all models are not fitted with the Model page's ``nagq``, the
    sentence that says which and why.

    Parameters
    ----------
    nagq : int
        The Model page's choice: 1 (Laplace), 0, or the number of quadrature points.
    family : ResponseFamily
    specs : mapping of name to ModelSpec
        The compared models, by the names the page shows.
    """
    if nagq == 1:
        return 1, None
    if nagq == 0:
        return 1, (
            "The Model page's nAGQ = 0 is a quick approximation, not a likelihood to test "
            "with, so these are Laplace fits (nAGQ = 1)."
        )
    laplace = [name for name, spec in specs.items() if not agq_applies(spec)]
    if not laplace:
        return nagq, None
    names = " and ".join(laplace)
    if len(laplace) == len(specs):
        return 1, (
            f"These are Laplace fits: glmer allows the Model page's nAGQ = {nagq} only for "
            "one random intercept or one random slope alone."
        )
    if family.family == "binomial" and family.trials is None:
        return nagq, (
            f"{names} has more than one random effect per group, so it is a Laplace fit "
            f"(glmer allows nAGQ = {nagq} only for one); for a 0/1 outcome both kinds of "
            "log-likelihood are on one scale, so the tests still hold."
        )
    return 1, (
        f"{ALL.get(len(specs), 'All')} are Laplace fits: {names} cannot use the Model "
        f"page's nAGQ = {nagq} (glmer allows it for one random effect only), and glmer's "
        "quadrature log-likelihood leaves out a constant the Laplace one has, so the two "
        "would not compare."
    )


def fitted_by(nagq: int, laplace_note: str | None) -> str:
    """How the compared models are fitted, for "fitted by maximum likelihood (...)":
    ``used_nagq``'s nAGQ and note (a note with nAGQ > 1: some models are Laplace fits)."""
    if nagq == 1:
        return "Laplace"
    method = f"adaptive Gauss-Hermite quadrature, nAGQ = {nagq}"
    return method + ", where glmer allows it" if laplace_note else method
