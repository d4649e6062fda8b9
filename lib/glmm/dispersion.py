"""The overdispersion check of a Poisson (or binomial-with-trials) GLMM, as
``performance::check_overdispersion`` computes it for a merMod (performance 0.10):

    chisq = sum of squared Pearson residuals,   ratio = chisq / df.resid,
    p = P(Chi^2_{df.resid} > chisq)

with the Pearson residuals sqrt(w / V(mu)) (y - mu) at the conditional modes and
df.resid = rows - parameters. performance reports "Overdispersion detected" when
p < 0.05. Under the model the ratio is near 1; a large one (Owls: 5.4) says the
counts vary more than a Poisson allows, so the standard errors are too small. For
0/1 outcomes the ratio carries no information about overdispersion (each row is a
single trial), so the check is refused there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from lib.errors import SpecError
from lib.glmm.result import GlmmFit

ALPHA = 0.05  # performance's threshold


@dataclass(frozen=True)
class DispersionCheck:
    """``performance::check_overdispersion``.

    Attributes
    ----------
    chisq : float
        Pearson chi-square, the sum of squared Pearson residuals.
    ratio : float
        chisq / df_resid.
    df_resid : int
    p_value : float
        Upper tail of the chi-square distribution on df_resid.
    overdispersed : bool
        p_value < 0.05 and ratio > 1 (performance's "Overdispersion detected").
    """

    chisq: float
    ratio: float
    df_resid: int
    p_value: float
    overdispersed: bool

    @property
    def message(self) -> str:
        """A plain-words verdict (empty when there is nothing to report)."""
        if not self.overdispersed:
            return ""
        return (
            f"The counts vary more than the model allows: the Pearson chi-square is "
            f"{self.ratio:.2f} times its residual degrees of freedom (p = "
            f"{self.p_value:.2g}; about 1 is expected). Standard errors and p-values are "
            "then too small; add an observation-level random effect (1 | row id) or use "
            "a negative-binomial model."
        )


def dispersion_check(fit: GlmmFit, trials: np.ndarray | None = None) -> DispersionCheck:
    """The check for a Poisson fit, or a binomial one with trials (any above 1).

    Parameters
    ----------
    fit : GlmmFit
    trials : ndarray, optional
        The trials per row of a binomial fit (to tell successes-of-trials from 0/1 data).
    """
    if fit.family == "binomial" and (trials is None or not np.any(np.asarray(trials) > 1)):
        raise SpecError(
            "Overdispersion cannot be judged for a 0/1 outcome (every row is one trial); the "
            "check is for counts and for successes out of several trials."
        )
    chisq = float(np.sum(np.asarray(fit.pearson_residuals) ** 2))
    df = int(fit.df_resid)
    p = float(special.chdtrc(df, chisq))
    ratio = chisq / df
    return DispersionCheck(chisq, ratio, df, p, bool(p < ALPHA and ratio > 1.0))
