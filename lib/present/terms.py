"""A fixed-effect coefficient as the product of its parts, read back from R's names.

lme4 names the columns of X as R's ``model.matrix`` does (``lib.model.fixed``):
the parts of an interaction joined with ":", a numeric part by its column name
and a dummy by its column name followed by the level (``cses:sectorPublic`` is
``cses`` times the indicator of ``sector == "Public"``). The equations and the
plain-language sentences need those parts back; the fit keeps only the names,
so they are matched against the spec's terms here, in the order X lists them
(names and levels may themselves contain ":", so every split is tried).

Whether a dummy is a contrast against the reference level or the indicator of
its level (no margin in the model, or no intercept) follows R's rule, as
``lib.model.fixed.all_levels_coding`` decides it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lib.model.fixed import all_levels_coding
from lib.model.spec import INTERCEPT, ModelSpec


@dataclass(frozen=True)
class Part:
    """One factor of a coefficient's column of X.

    Attributes
    ----------
    column : str
        The data column.
    label : str
        How the coefficient's name writes it: the column, or column + level.
    level : str or None
        The level of a dummy; None for a numeric column.
    """

    column: str
    label: str
    level: str | None = None

    @property
    def is_dummy(self) -> bool:
        return self.level is not None


@dataclass(frozen=True)
class Coefficient:
    """A fixed effect's name and the parts its column multiplies.

    Attributes
    ----------
    name : str
        lme4's name (``(Intercept)``, ``cses``, ``cses:sectorPublic``).
    parts : tuple of Part
        Empty for the intercept.
    term : int
        Index of its term in ``spec.fixed_terms`` (-1: the intercept, or a name
        that matched no term).
    all_levels : tuple of bool
        Per part: True for a dummy that is its level's indicator rather than a
        contrast against the reference level (R's code 2).
    """

    name: str
    parts: tuple[Part, ...]
    term: int = -1
    all_levels: tuple[bool, ...] = ()

    @property
    def is_intercept(self) -> bool:
        return self.name == INTERCEPT

    @property
    def is_interaction(self) -> bool:
        return len(self.parts) > 1

    @property
    def numeric(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if not p.is_dummy)

    @property
    def dummies(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.is_dummy)

    def contrast(self, part: Part) -> bool:
        """Whether dummy ``part`` is a contrast against its column's reference level."""
        k = self.parts.index(part)
        return part.is_dummy and not (self.all_levels[k] if self.all_levels else False)


def _split(name: str, columns: Sequence[str]) -> tuple[Part, ...] | None:
    """``name`` as one part per column (in order), or None when it is not this term's."""
    column = columns[0]
    if not name.startswith(column):
        return None
    last = len(columns) == 1
    ends = [len(name)] if last else [i for i in range(len(column), len(name)) if name[i] == ":"]
    for end in ends:
        piece = name[:end]
        rest = () if last else _split(name[end + 1 :], columns[1:])
        if rest is None:
            continue
        level = None if piece == column else piece[len(column) :]
        return (Part(column, piece, level), *rest)
    return None


def coefficient_parts(spec: ModelSpec, fixef_names: Sequence[str]) -> tuple[Coefficient, ...]:
    """Each fixed effect's parts, in ``fixef_names`` order.

    Names are matched against the spec's terms from the term of the previous
    name on (X lists terms in order), so a name that two terms could produce
    goes to the one X puts it under. A name that matches no term (it cannot
    come from a fit of ``spec``) is kept as one numeric part.
    """
    terms = spec.fixed_terms
    matched: list[tuple[str, tuple[Part, ...], int]] = []
    start = 0
    for name in fixef_names:
        if name == INTERCEPT:
            matched.append((name, (), -1))
            continue
        found = None
        for t in [*range(start, len(terms)), *range(start)]:
            parts = _split(name, terms[t].columns)
            if parts is not None:
                found, start = (parts, t), t
                break
        parts, term = found if found is not None else ((Part(name, name),), -1)
        matched.append((name, parts, term))
    is_factor = {c: False for t in terms for c in t.columns}
    for _, parts, _ in matched:
        for part in parts:
            if part.is_dummy:
                is_factor[part.column] = True
    coding = all_levels_coding(terms, spec.intercept, is_factor)
    out = []
    for name, parts, term in matched:
        flags = coding[term] if term >= 0 else tuple(False for _ in parts)
        out.append(Coefficient(name, parts, term, tuple(flags)))
    return tuple(out)
