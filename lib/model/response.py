"""What kind of outcome a model has: lme4's ``lmer`` (Gaussian) or ``glmer`` family.

One value, ``ResponseFamily``, says everything about the outcome that is not a
column of the fixed or random part: the family and link, the trials column of a
binomial ``cbind(s, n - s)`` outcome, an offset column (``offset(log(exposure))``
when the column already holds the log), and for a two-valued text or boolean
outcome the level that counts as 1 (glmer counts every level but the first as 1,
``mkRespMod`` in lme4's ``R/modular.R``; naming it makes the choice visible and
changeable). The app's sidebar, the URL, the CLI flags and MODEL.json all hold
this one value next to the ``ModelSpec``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.errors import SpecError

LINKS: dict[str, tuple[str, ...]] = {
    "gaussian": ("identity",),
    "binomial": ("logit", "probit", "cloglog"),
    "poisson": ("log",),
}
"""Each family's links, the canonical (R's default) first."""


@dataclass(frozen=True)
class ResponseFamily:
    """The family of the outcome and the columns that go with it.

    Attributes
    ----------
    family : str
        ``"gaussian"`` (a linear mixed model, ``lmer``), ``"binomial"`` or ``"poisson"``.
    link : str or None
        None for the family's canonical link (identity, logit, log).
    trials : str or None
        Binomial only: the column of trials when the outcome counts successes.
    offset : str or None
        A column added to the linear predictor as it is (generalized families only).
    success : str or None
        Binomial with a two-valued text or boolean outcome: the value counted as 1
        (as text, e.g. ``"pass"`` or ``"True"``); None lets the fit take glmer's rule.
    """

    family: str = "gaussian"
    link: str | None = None
    trials: str | None = None
    offset: str | None = None
    success: str | None = None

    def __post_init__(self) -> None:
        if self.family not in LINKS:
            raise SpecError(
                f"Unknown family {self.family!r}: use 'gaussian', 'binomial' or 'poisson'."
            )
        if self.link is not None and self.link not in LINKS[self.family]:
            raise SpecError(
                f"The {self.family} family takes the link "
                + " or ".join(repr(x) for x in LINKS[self.family])
                + f", not {self.link!r}."
            )
        if self.trials is not None and self.family != "binomial":
            raise SpecError("Only a binomial model takes a trials column.")
        if self.offset is not None and self.family == "gaussian":
            raise SpecError("An offset column is for binomial and Poisson models.")
        if self.success is not None and self.family != "binomial":
            raise SpecError("Only a binomial model has a level counted as success.")
        if self.success is not None and self.trials is not None:
            raise SpecError("Use either a trials column or a success level, not both.")

    @property
    def generalized(self) -> bool:
        """True for ``glmer`` (binomial, Poisson), False for ``lmer``."""
        return self.family != "gaussian"

    @property
    def link_name(self) -> str:
        """The link in use (the canonical one when ``link`` is None)."""
        return self.link or LINKS[self.family][0]

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns besides the model's: trials and offset, when named."""
        return tuple(c for c in (self.trials, self.offset) if c is not None)


GAUSSIAN = ResponseFamily()
