"""ModelSpec: what to fit, as column roles and flags, never as a formula string.

The lme4 formula is only *rendered* from the spec for display; nothing the user
typed is ever parsed or evaluated (see ``lib.design`` for how arrays are built).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lib.errors import SpecError

_PLAIN_NAME = re.compile(r"^[A-Za-z.][A-Za-z0-9._]*$")


def r_name(column: str) -> str:
    """Quote a column name the way R prints a non-syntactic name (backticks)."""
    if _PLAIN_NAME.match(column) and not re.match(r"^\.[0-9]", column):
        return column
    return "`" + column.replace("`", "\\`") + "`"


@dataclass(frozen=True)
class ModelSpec:
    """A linear mixed model with one grouping factor.

    Attributes
    ----------
    outcome : str
        Numeric response column.
    group : str
        Grouping column (any type; its values become factor levels).
    fixed : tuple of str
        Fixed-effect predictors besides the intercept (numeric, or categorical
        with treatment coding named as R does, e.g. ``trtB``).
    random_intercept : bool
        Include a random intercept per group.
    random_slopes : tuple of str
        Numeric columns that get a random slope per group.
    correlated : bool
        ``(1 + x | g)`` when True, ``(1 | g) + (0 + x | g)`` when False.
    reml : bool
        REML (lme4's default) when True, maximum likelihood when False.
    """

    outcome: str
    group: str
    fixed: tuple[str, ...] = ()
    random_intercept: bool = True
    random_slopes: tuple[str, ...] = ()
    correlated: bool = True
    reml: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "fixed", tuple(self.fixed))
        object.__setattr__(self, "random_slopes", tuple(self.random_slopes))
        if not self.random_intercept and not self.random_slopes:
            raise SpecError(
                "The model has no random effect: turn on the random intercept or "
                "choose at least one random slope."
            )
        if self.outcome == self.group:
            raise SpecError(f"Column '{self.outcome}' cannot be both the outcome and the group.")
        used = (self.outcome, self.group)
        for name in (*self.fixed, *self.random_slopes):
            if name in used:
                raise SpecError(
                    f"Column '{name}' is the outcome or the grouping column and cannot "
                    "also be a predictor."
                )
        if len(set(self.fixed)) != len(self.fixed):
            raise SpecError(f"A fixed predictor is listed twice: {list(self.fixed)}.")
        if len(set(self.random_slopes)) != len(self.random_slopes):
            raise SpecError(f"A random slope is listed twice: {list(self.random_slopes)}.")

    @property
    def n_random(self) -> int:
        """Number of random-effect terms per group (q)."""
        return int(self.random_intercept) + len(self.random_slopes)

    @property
    def random_names(self) -> tuple[str, ...]:
        """Random-effect term names in lme4's order: ``(Intercept)`` first."""
        return (("(Intercept)",) if self.random_intercept else ()) + self.random_slopes

    @property
    def columns(self) -> tuple[str, ...]:
        """Every data column the model uses, without duplicates, in a stable order."""
        seen: dict[str, None] = {}
        for name in (self.outcome, *self.fixed, *self.random_slopes, self.group):
            seen[name] = None
        return tuple(seen)

    def formula(self) -> str:
        """The lme4 formula this spec stands for, as lme4 prints it."""
        fixed = " + ".join(["1", *(r_name(c) for c in self.fixed)])
        g = r_name(self.group)
        slopes = [r_name(c) for c in self.random_slopes]
        if self.correlated or len(self.random_names) == 1:
            inner = " + ".join((["1"] if self.random_intercept else ["0"]) + slopes)
            random = f"({inner} | {g})"
        else:
            parts = (["(1 | " + g + ")"] if self.random_intercept else []) + [
                f"(0 + {s} | {g})" for s in slopes
            ]
            random = " + ".join(parts)
        return f"{r_name(self.outcome)} ~ {fixed} + {random}"

    def with_changes(self, **changes: object) -> ModelSpec:
        """A copy with some fields replaced (the spec itself is frozen)."""
        return replace(self, **changes)  # type: ignore[arg-type]
