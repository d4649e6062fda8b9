"""A model as the sidebar's toggles show it, and what they cannot show.

The app's sidebar describes a model with column roles (outcome, predictor, grouping
levels, other fixed effects) and per-level toggles (random intercept, random slopes,
their correlation); a typed lme4 formula (``lib.model.formula``) can say more. This
module reads a ``ModelSpec`` into those toggles (``toggle_view``) and keeps the rest as
``FormulaExtras``: interactions, a grouping column used as a fixed effect (Yates' oats),
random terms that are not one per level of a nested/crossed chain (``(1 | g1:g2)``
alone, a second term on the same factor, a fourth level), and ``0 +``.

``combined_spec`` is the other direction: the toggles' model plus the extras. The
round trip ``combined_spec(toggles of toggle_view(spec), extras)`` gives ``spec`` back,
up to the order of main effects (the predictor is written first), so a formula the
toggles cannot fully show still fits as typed, and editing a toggle changes only what
that toggle shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lib.errors import SpecError
from lib.model import transforms
from lib.model.levels import LevelEffects, level_factors
from lib.model.spec import (
    CROSSED,
    NESTED,
    FixedTerm,
    GroupLevel,
    ModelSpec,
    RandomTerm,
    is_derived,
)

MAX_LEVELS = 3  # the sidebar's grouping levels: the grouping column and two below it


@dataclass(frozen=True)
class FormulaExtras:
    """The part of a model the toggles cannot show.

    Attributes
    ----------
    fixed : tuple of FixedTerm
        Interactions, and main effects of grouping columns.
    random : tuple of RandomTerm
        Random terms that are not one term per level of the sidebar's chain.
    no_intercept : bool
        The fixed part has no intercept (``0 +``).
    outcome : str or None
        A computed outcome (``log(y)``); the outcome selector shows its column.
    """

    fixed: tuple[FixedTerm, ...] = ()
    random: tuple[RandomTerm, ...] = ()
    no_intercept: bool = False
    outcome: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.fixed or self.random or self.no_intercept or self.outcome)

    def labels(self) -> tuple[str, ...]:
        """Each extra as lme4 writes it (``sex:x``, ``(1 | g1:g2)``, ``0 +``)."""
        return (
            ((f"{self.outcome} as the outcome",) if self.outcome else ())
            + (("0 + (no fixed intercept)",) if self.no_intercept else ())
            + tuple(t.label for t in self.fixed)
            + tuple(t.formula() for t in self.random)
        )


@dataclass(frozen=True)
class ToggleView:
    """The sidebar's roles and toggles for a model, and the extras they cannot show.

    Attributes
    ----------
    outcome, predictor, group : str, str or None, str
        The column roles (``predictor`` None: no numeric column is free for it).
    levels : tuple of GroupLevel
        Lower grouping columns, each nested in or crossed with the level above.
    covariates : tuple of str
        Other fixed main effects.
    fixed_slope : bool
        The predictor is a fixed effect.
    effects : tuple of LevelEffects
        Each level's random effects, top first (``slopes`` always named).
    reml : bool
    extras : FormulaExtras
    """

    outcome: str
    predictor: str | None
    group: str
    levels: tuple[GroupLevel, ...]
    covariates: tuple[str, ...]
    fixed_slope: bool
    effects: tuple[LevelEffects, ...]
    reml: bool
    extras: FormulaExtras

    def spec(self) -> ModelSpec:
        """The model these toggles and extras stand for (``combined_spec``)."""
        fixed = ((self.predictor,) if self.fixed_slope and self.predictor else ()) + (
            self.covariates
        )
        return combined_spec(
            self.outcome,
            self.group,
            self.levels,
            self.effects,
            fixed=fixed,
            slope=self.predictor,
            reml=self.reml,
            extras=self.extras,
        )


def _effects(term: RandomTerm) -> LevelEffects:
    return LevelEffects(
        intercept=term.intercept,
        slope=bool(term.slopes),
        correlated=term.correlated or not (term.intercept and term.slopes),
        slopes=term.slopes,
    )


def _chain(
    spec: ModelSpec, numeric: set[str]
) -> tuple[str, list[GroupLevel], list[RandomTerm], list[RandomTerm]]:
    """The top grouping column, the lower levels, the terms they show, and the rest.

    The slope toggles offer numeric columns only: a term with a computed or a
    categorical column on the left of "|" is one the toggles cannot show."""
    terms = list(spec.random)

    def unshown(slope: str) -> bool:
        return is_derived(slope) or slope not in numeric

    top_term = next(
        (
            t
            for t in terms
            if len(t.group) == 1 and not t.interactions and not any(map(unshown, t.slopes))
        ),
        None,
    )
    top = top_term.group[0] if top_term else terms[0].group[-1]
    shown: list[RandomTerm] = [top_term] if top_term else []
    levels: list[GroupLevel] = []
    factor: tuple[str, ...] = (top,)
    used = {top}
    for term in terms:
        if term is top_term or len(levels) == MAX_LEVELS - 1:
            continue
        column = term.group[0]
        if term.interactions or column in used:
            continue
        if any(s in used or s == column or unshown(s) for s in term.slopes):
            continue
        if term.group == (column, *factor):
            relation = NESTED
        elif term.group == (column,):
            relation = CROSSED
        else:
            continue
        levels.append(GroupLevel(column, relation))
        shown.append(term)
        factor = term.group
        used.add(column)
    rest = [t for t in terms if all(t is not s for s in shown)]
    return top, levels, shown, rest


def toggle_view(
    spec: ModelSpec, numeric: Iterable[str], predictor_hint: str | None = None
) -> ToggleView:
    """The sidebar's roles and toggles for ``spec`` (see the module docstring).

    Parameters
    ----------
    spec : ModelSpec
    numeric : iterable of str
        The data's numeric columns (only they can be the predictor).
    predictor_hint : str, optional
        The predictor to keep when the model names none (no numeric fixed effect and
        no random slope), so that a formula does not move the x axis needlessly.
    """
    numeric = set(numeric)
    top, levels, shown, rest = _chain(spec, numeric)
    groups = {top, *(level.column for level in levels)}
    effects = [LevelEffects(intercept=False, slope=False)] * (1 + len(levels))
    for term in shown:
        k = 0 if term.group == (top,) else 1 + [lv.column for lv in levels].index(term.group[0])
        effects[k] = _effects(term)
    mains = [t.columns[0] for t in spec.fixed_terms if t.order == 1]
    hidden = groups | {c for c in mains if is_derived(c)}  # no role selector offers log(x)
    shown_mains = [c for c in mains if c not in hidden]
    extra_fixed = tuple(t for t in spec.fixed_terms if t.order > 1 or t.columns[0] in hidden)
    slopes = [s for e in effects for s in e.slopes]
    candidates = [c for c in shown_mains if c in numeric] + slopes
    if predictor_hint is not None:
        candidates.append(predictor_hint)
    outcome = spec.outcome
    if is_derived(outcome):  # the selector shows the column; the extras keep log(y)
        found = transforms.source(outcome)
        outcome = found[1] if found else outcome
    free = [c for c in candidates if c in numeric and c not in groups and c != outcome]
    predictor = free[0] if free else None
    return ToggleView(
        outcome=outcome,
        predictor=predictor,
        group=top,
        levels=tuple(levels),
        covariates=tuple(c for c in shown_mains if c != predictor),
        fixed_slope=predictor in shown_mains,
        effects=tuple(effects),
        reml=spec.reml,
        extras=FormulaExtras(
            fixed=extra_fixed,
            random=tuple(rest),
            no_intercept=not spec.intercept,
            outcome=spec.outcome if is_derived(spec.outcome) else None,
        ),
    )


def combined_spec(
    outcome: str,
    group: str,
    levels: Sequence[GroupLevel],
    effects: Sequence[LevelEffects],
    *,
    fixed: Sequence[str] = (),
    slope: str | None = None,
    reml: bool = True,
    extras: FormulaExtras = FormulaExtras(),
) -> ModelSpec:
    """The toggles' model (as ``lib.model.levels.level_spec`` builds it) plus ``extras``.

    A level whose toggles are all off contributes no term; with extras' random terms
    the model may then rest on those alone.

    Raises
    ------
    SpecError
        No random term at all, or choices that contradict each other.
    """
    if len(effects) != len(levels) + 1:
        raise SpecError(
            f"Expected random-effect choices for {len(levels) + 1} level(s), got {len(effects)}."
        )
    terms = []
    for factor, choice in zip(level_factors(group, levels), effects, strict=True):
        own = choice.slopes or ((slope,) if slope else ())
        slopes = own if choice.slope else ()
        if choice.intercept or slopes:
            terms.append(
                RandomTerm(
                    group=factor,
                    intercept=choice.intercept,
                    slopes=slopes,
                    correlated=choice.correlated,
                )
            )
    terms += [t for t in extras.random if t not in terms]
    if not terms:
        if len(effects) == 1:  # one level: the term's own message says what to switch on
            RandomTerm(group=(group,), intercept=False)
        raise SpecError(
            "No grouping level has a random effect: switch on a random intercept or slope "
            "for at least one level."
        )
    main = [FixedTerm((c,)) for c in fixed]
    entries = main + [t for t in extras.fixed if t not in main]
    return ModelSpec(
        outcome=extras.outcome or outcome,
        fixed=tuple(entries),
        random=tuple(terms),
        reml=reml,
        intercept=not extras.no_intercept,
    )


def same_model(a: ModelSpec, b: ModelSpec) -> bool:
    """Whether two specs fit the same model: equal up to the order of fixed terms."""
    return (
        a.outcome == b.outcome
        and set(a.fixed_terms) == set(b.fixed_terms)
        and set(a.random) == set(b.random)
        and a.reml == b.reml
        and a.intercept == b.intercept
    )


def check_columns(
    spec: ModelSpec,
    columns: Iterable[str],
    numeric: Iterable[str],
    made: Iterable[str] = (),
    text_outcome: bool = False,
) -> None:
    """Raise a SpecError naming the first column of ``spec`` the data cannot give.

    ``made`` are names that centring creates (``ses_cwc``): a formula names the source
    column and the centring controls make the new one, which the message says.
    ``text_outcome``: the outcome may hold text (a binomial family's two values; the fit
    checks them). A text column on the left of "|" is a categorical random effect
    (``lib.model.random_effects``), which the design codes as lme4 does.
    """
    columns, numeric, made = set(columns), set(numeric), set(made)
    for name in spec.columns:
        if name in columns:
            continue
        found = transforms.source(name)
        if found is not None and found[1] in columns:
            if found[1] not in numeric:
                raise SpecError(f"{name} needs numbers, but column '{found[1]}' holds text.")
            continue
        if name in made:
            raise SpecError(
                f"Column '{name}' is made by the centring controls: write the column it "
                "comes from in the formula and keep the centring switched on."
            )
        raise SpecError(f"The formula names column '{name}', which is not in the data.")
    for name, role in [] if text_outcome else [(spec.outcome, "the outcome")]:
        if name not in numeric and name not in columns and is_derived(name):
            continue  # computed from a numeric column, checked above
        if name not in numeric:
            raise SpecError(f"Column '{name}' holds text, so it cannot be {role}.")
