"""ModelSpec: what to fit, as column roles and flags, never as a formula string.

A model is an outcome, fixed-effect terms (main effects and interactions,
``FixedTerm``), whether the fixed part has an intercept, and a tuple of
random-effect terms. A
term (``RandomTerm``) is one value: the grouping columns (several columns mean
their interaction, as lme4's ``school:class``), whether it has an intercept,
which columns get random slopes (a categorical one as its dummy columns,
``lib.model.random_effects``), and whether those effects are correlated. This
follows MixedModels.jl's ``ReMat`` (one object per term) and lme4's
``mkReTrms``; the one-factor model is just the one-term case.

Nested and crossed designs need nothing special here:
``(1 | school/class)`` is ``(1 | school) + (1 | class:school)``, i.e. the terms
``RandomTerm(("school",))`` and ``RandomTerm(("class", "school"))``; crossed
factors are terms on different columns, ``(1 | subject) + (1 | item)``.

The lme4 formula is rendered from the spec; a formula the user types is read by
our own parser (``lib.model.formula``) into a spec and never evaluated (see
``lib.model.design`` for how arrays are built).

MODEL.json (``ModelSpec.to_dict`` / ``from_dict``)::

    {"outcome": "mAch",
     "fixed": ["meanses", "cses", "sector", ["meanses", "cses"], ["cses", "sector"]],
     "intercept": true,
     "random": [{"group": ["school"], "intercept": true, "slopes": ["cses"],
                 "correlated": true}],
     "method": "REML"}

``fixed`` lists main effects as column names and interactions as lists of column
names (``["cses", "sector"]`` is lme4's ``cses:sector``). ``intercept`` is optional
(default true; ``false`` is lme4's ``0 +``) and written only when false, so files
written before interactions existed read, and are written, unchanged.
Instead of ``fixed``/``intercept``/``random``, ``{"formula": "y ~ a * b + (1 | g)",
"method": "REML"}`` is read by ``lib.model.formula.spec_from_json``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from lib.errors import SpecError

_PLAIN_NAME = re.compile(r"^[A-Za-z.][A-Za-z0-9._]*$")
INTERCEPT = "(Intercept)"


#: Words R's parser reads as something else; a column so named needs backticks. "."
#: is "every other column" in a formula.
_R_RESERVED = frozenset(
    "if else repeat while function for next break TRUE FALSE NULL Inf NaN NA NA_integer_ "
    "NA_real_ NA_character_ NA_complex_ in .".split()
)


#: A column computed in the formula by ``lib.model.transforms`` (``log(x)``, ``I(x^2)``,
#: ``scale(`my col`)``): the name is the expression as R deparses it, written unquoted.
_ARGUMENT = r"(?:[A-Za-z.][A-Za-z0-9._]*|`(?:[^`\\]|\\.)+`)"
DERIVED = re.compile(
    rf"^(?:(log|log2|log10|sqrt|exp|scale)\(({_ARGUMENT})\)|I\(({_ARGUMENT})\^([0-9]+)\))$"
)


def is_derived(name: str) -> bool:
    """Whether ``name`` is a column the formula computes (``lib.model.transforms``)."""
    return DERIVED.fullmatch(name) is not None


def r_name(column: str) -> str:
    """Quote a column name the way R prints a non-syntactic name (backticks).

    A computed column (``log(x)``, ``is_derived``) is the expression itself, unquoted.
    """
    if is_derived(column):
        return column
    if (
        _PLAIN_NAME.fullmatch(column)  # not .match: "$" also matches before a final "\n"
        and not re.match(r"^\.[0-9]", column)
        and not re.match(r"^\.\.[0-9]*$", column)
        and column not in _R_RESERVED
    ):
        return column
    # R processes escapes inside backticks, so a backslash or a line break must be
    # escaped too for the printed formula to name the same column when R reads it.
    escaped = json.dumps(column, ensure_ascii=False)[1:-1].replace('\\"', '"')
    return "`" + escaped.replace("`", "\\`") + "`"


def _names(value: object, what: str) -> tuple[str, ...]:
    """A tuple of column names from a string or an iterable of strings."""
    if isinstance(value, str):
        return (value,)
    try:
        names = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise SpecError(f"{what} must be a list of column names, got {value!r}.") from None
    for name in names:
        if not isinstance(name, str) or not name:
            raise SpecError(f"{what} must hold non-empty column names, got {name!r}.")
    return names


def _check_keys(data: Mapping[str, object], allowed: set[str], where: str) -> None:
    """Unknown keys in MODEL.json are an error, not silently ignored."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SpecError(f"Unknown key(s) {unknown} in {where}; allowed: {sorted(allowed)}.")


@dataclass(frozen=True)
class RandomTerm:
    """One random-effect term, ``(1 + x | g)`` in lme4's notation.

    Attributes
    ----------
    group : tuple of str
        Grouping columns; several columns mean their interaction, named as lme4
        names it by joining the columns with ":" in this order (``class:school``).
    intercept : bool
        A random intercept per level.
    slopes : tuple of str
        Columns on the left of "|" besides the intercept: a numeric column is a
        random slope; a categorical one enters as R's model.matrix codes it
        (``(urban | g)``: ``urbanY``; ``(0 + urban | g)``: ``urbanN``, ``urbanY``),
        so the effects' names depend on the data (``lib.model.random_effects``;
        ``lib.model.design.TermDesign.names``).
    correlated : bool
        ``(1 + x | g)`` when True; lme4's ``(1 | g) + (0 + x | g)`` when False.
    interactions : tuple of tuple of str
        Interactions on the left of "|" (``(0 + standLRT:sex | school)``), each the
        columns in R's order; they come after the slopes, as R's ``terms()`` orders
        the left side by degree.
    """

    group: tuple[str, ...]
    intercept: bool = True
    slopes: tuple[str, ...] = ()
    correlated: bool = True
    interactions: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "group", _names(self.group, "A random term's group"))
        object.__setattr__(self, "slopes", _names(self.slopes, "A random term's slopes"))
        if isinstance(self.interactions, str):
            raise SpecError(
                f"'interactions' must be a list of column lists, got {self.interactions!r}."
            )
        inter = tuple(_names(i, "A random term's interaction") for i in self.interactions)
        object.__setattr__(self, "interactions", inter)
        for columns in inter:
            if len(columns) < 2 or len(set(columns)) != len(columns):
                raise SpecError(
                    f"An interaction in a random term needs two or more different columns, "
                    f"got {list(columns)}."
                )
        if len(set(inter)) != len(inter):
            raise SpecError(f"An interaction is listed twice in a random term: {list(inter)}.")
        if not self.group:
            raise SpecError("A random term needs at least one grouping column.")
        if len(set(self.group)) != len(self.group):
            raise SpecError(f"A grouping column is listed twice in {list(self.group)}.")
        if not self.intercept and not self.slopes and not inter:
            raise SpecError(
                f"The random term for '{self.name}' has neither an intercept nor a slope: "
                "turn on the random intercept or choose at least one random slope."
            )
        if len(set(self.slopes)) != len(self.slopes):
            raise SpecError(f"A random slope is listed twice: {list(self.slopes)}.")
        for slope in self.columns:
            if slope in self.group:
                raise SpecError(
                    f"Column '{slope}' is a grouping column of this term and cannot also "
                    "have a random slope in it."
                )

    @property
    def name(self) -> str:
        """lme4's name of the grouping factor, e.g. ``class:school``."""
        return ":".join(self.group)

    @property
    def labels(self) -> tuple[str, ...]:
        """The left side's terms besides the intercept: slopes, then interactions
        (``standLRT:sex``)."""
        return self.slopes + tuple(":".join(i) for i in self.interactions)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column on the left of "|", first-seen order, without duplicates."""
        return tuple(dict.fromkeys((*self.slopes, *(c for i in self.interactions for c in i))))

    @property
    def names(self) -> tuple[str, ...]:
        """Effect names in lme4's order: ``(Intercept)`` first, then the slopes and
        interactions (a categorical column by its name; its effects are named by the
        design, ``lib.model.random_effects``)."""
        return ((INTERCEPT,) if self.intercept else ()) + self.labels

    @property
    def q(self) -> int:
        """Random effects per level."""
        return len(self.names)

    @property
    def is_correlated(self) -> bool:
        """Whether correlations are parameters (a single effect has none)."""
        return self.correlated and self.q > 1

    def formula(self) -> str:
        """This term in lme4's syntax, e.g. ``(1 + x | school)`` or ``(1 | g) + (0 + x | g)``."""
        g = ":".join(r_name(c) for c in self.group)
        mains = [r_name(c) for c in self.slopes]
        inters = [":".join(r_name(c) for c in i) for i in self.interactions]
        slopes = mains + inters
        if self.correlated or self.q == 1:
            # R orders the left side's columns by degree whatever the written order, but
            # names an interaction's parts in order of first mention: write the
            # interactions first where the slopes would change that (x:f after f).
            rank = {c: k for k, c in enumerate(dict.fromkeys(self.columns))}
            if not all(list(i) == sorted(i, key=rank.__getitem__) for i in self.interactions):
                slopes = inters + mains
            inner = " + ".join((["1"] if self.intercept else ["0"]) + slopes)
            return f"({inner} | {g})"
        parts = (["(1 | " + g + ")"] if self.intercept else []) + [
            f"(0 + {s} | {g})" for s in slopes
        ]
        return " + ".join(parts)

    def to_dict(self) -> dict[str, object]:
        """The CLI's JSON form of this term (``interactions`` only when there are any)."""
        data: dict[str, object] = {
            "group": list(self.group),
            "intercept": self.intercept,
            "slopes": list(self.slopes),
            "correlated": self.correlated,
        }
        if self.interactions:
            data["interactions"] = [list(i) for i in self.interactions]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RandomTerm:
        """Read the CLI's JSON form; unknown keys are an error, not ignored."""
        if not isinstance(data, Mapping):
            raise SpecError(f"Each random term must be a JSON object, got {data!r}.")
        _check_keys(
            data, {"group", "intercept", "slopes", "correlated", "interactions"}, "a random term"
        )
        if "group" not in data:
            raise SpecError("A random term needs a 'group' (a list of column names).")
        flags = {}
        for key in ("intercept", "correlated"):
            value = data.get(key, True)
            if not isinstance(value, bool):
                raise SpecError(f"'{key}' in a random term must be true or false, got {value!r}.")
            flags[key] = value
        interactions = data.get("interactions", [])
        if not isinstance(interactions, list | tuple):
            raise SpecError(f"'interactions' must be a list of column lists, got {interactions!r}.")
        return cls(
            group=_names(data["group"], "'group'"),
            slopes=_names(data.get("slopes", ()), "'slopes'"),
            interactions=tuple(_names(i, "'interactions'") for i in interactions),
            **flags,
        )


@dataclass(frozen=True)
class FixedTerm:
    """One fixed-effect term: a main effect (one column) or an interaction (several).

    Attributes
    ----------
    columns : tuple of str
        The columns whose product the term is, ``("cses", "sector")`` for lme4's
        ``cses:sector``. Numeric columns multiply; a categorical column enters as
        dummy columns (treatment contrasts or all levels, by R's rule, see
        ``lib.model.fixed``).
    """

    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        columns = _names(self.columns, "A fixed term's columns")
        object.__setattr__(self, "columns", columns)
        if not columns:
            raise SpecError("A fixed term needs at least one column.")
        if len(set(columns)) != len(columns):
            raise SpecError(f"A column is listed twice in the interaction {list(columns)}.")

    @property
    def order(self) -> int:
        """Number of columns (R's ``attr(terms, "order")``)."""
        return len(self.columns)

    @property
    def label(self) -> str:
        """R's term label, ``cses:sector`` (non-syntactic names in backticks)."""
        return ":".join(r_name(c) for c in self.columns)


def _fixed_entry(value: object) -> str | FixedTerm:
    """A main effect as its column name, an interaction as a FixedTerm."""
    term = value if isinstance(value, FixedTerm) else None
    if term is None:
        if isinstance(value, str):
            if not value:
                raise SpecError("'fixed' must hold non-empty column names, got ''.")
            return value
        term = FixedTerm(_names(value, "A fixed term"))
    return term.columns[0] if term.order == 1 else term


def _as_term(entry: str | FixedTerm) -> FixedTerm:
    return entry if isinstance(entry, FixedTerm) else FixedTerm((entry,))


def canonical_fixed(entries: Iterable[object]) -> tuple[str | FixedTerm, ...]:
    """Fixed terms in R's order: sorted by order (main effects, then two-way
    interactions, ...), stable, as R's ``terms()`` sorts them.

    An interaction's columns keep the order given: R names them in order of
    first mention in the formula (``lib.model.formula`` gives them so), and
    sorting again must not rename anything (``with_changes`` re-runs this).
    """
    terms = sorted((_as_term(_fixed_entry(e)) for e in entries), key=lambda t: t.order)
    return tuple(_fixed_entry(t) for t in terms)


@dataclass(frozen=True)
class ModelSpec:
    """A linear mixed model: outcome, fixed predictors and random-effect terms.

    Attributes
    ----------
    outcome : str
        Numeric response column.
    fixed : tuple of str or FixedTerm
        Fixed-effect terms besides the intercept: a main effect is its column
        name (numeric, or categorical with treatment coding named as R does,
        e.g. ``trtB``), an interaction a ``FixedTerm`` (lists or ``FixedTerm``
        values of one column become plain names). Stored in R's term order
        (``canonical_fixed``).
    random : tuple of RandomTerm
        At least one term. Terms may share grouping columns (nested designs) or
        not (crossed designs).
    reml : bool
        REML (lme4's default) when True, maximum likelihood when False.
    intercept : bool
        A fixed intercept (lme4's default); False is ``0 +`` / ``- 1``.
    """

    outcome: str
    fixed: tuple[str | FixedTerm, ...] = ()
    random: tuple[RandomTerm, ...] = ()
    reml: bool = True
    intercept: bool = True

    def __post_init__(self) -> None:
        fixed = (self.fixed,) if isinstance(self.fixed, str | FixedTerm) else self.fixed
        try:
            entries = tuple(fixed)  # type: ignore[arg-type]
        except TypeError:
            raise SpecError(f"'fixed' must be a list of terms, got {self.fixed!r}.") from None
        object.__setattr__(self, "fixed", canonical_fixed(entries))
        if not isinstance(self.intercept, bool):
            raise SpecError(f"'intercept' must be true or false, got {self.intercept!r}.")
        random = (self.random,) if isinstance(self.random, RandomTerm) else tuple(self.random)
        object.__setattr__(self, "random", random)
        if not isinstance(self.outcome, str) or not self.outcome:
            raise SpecError(f"The outcome must be a column name, got {self.outcome!r}.")
        if not random:
            raise SpecError(
                "The model has no random effect: add a grouping column with a random "
                "intercept or slope."
            )
        for term in random:
            if not isinstance(term, RandomTerm):
                raise SpecError(f"Random terms must be RandomTerm values, got {term!r}.")
        if len(set(random)) != len(random):
            raise SpecError(
                "A random term is listed twice: " + " + ".join(t.formula() for t in random)
            )
        grouping = self.group_columns
        if self.outcome in grouping:
            raise SpecError(
                f"Column '{self.outcome}' cannot be both the outcome and a grouping column."
            )
        # A grouping column may also be a fixed predictor, as lme4 allows (Yates'
        # oats: yield ~ nitro + Variety + (1 | Block/Variety)); a grouping column on the
        # left of "|" as well is refused (a categorical slope of another column is not).
        for name in self.fixed_columns:
            if name == self.outcome:
                raise SpecError(f"Column '{name}' is the outcome and cannot also be a predictor.")
        for name in self.slope_columns:
            if name == self.outcome or name in grouping:
                raise SpecError(
                    f"Column '{name}' is the outcome or a grouping column and cannot "
                    "also have a random slope."
                )
        terms = self.fixed_terms
        if len(set(terms)) != len(terms):
            raise SpecError(f"A fixed term is listed twice: {[t.label for t in terms]}.")
        if not self.intercept and not terms:
            raise SpecError(
                "A model without a fixed intercept needs at least one fixed predictor; "
                "remove '0 +' or add a predictor."
            )

    @classmethod
    def one_factor(
        cls,
        outcome: str,
        group: str | Iterable[str],
        fixed: Iterable[str] = (),
        random_intercept: bool = True,
        random_slopes: Iterable[str] = (),
        correlated: bool = True,
        reml: bool = True,
    ) -> ModelSpec:
        """The common case: one random term on one grouping factor."""
        term = RandomTerm(
            group=_names(group, "'group'"),
            intercept=random_intercept,
            slopes=tuple(random_slopes),
            correlated=correlated,
        )
        return cls(outcome=outcome, fixed=tuple(fixed), random=(term,), reml=reml)

    @property
    def group_columns(self) -> tuple[str, ...]:
        """Every grouping column, first-seen order, without duplicates."""
        return tuple(dict.fromkeys(c for t in self.random for c in t.group))

    @property
    def fixed_terms(self) -> tuple[FixedTerm, ...]:
        """Every fixed term as a FixedTerm (main effects too), in R's order."""
        return tuple(_as_term(e) for e in self.fixed)

    @property
    def fixed_columns(self) -> tuple[str, ...]:
        """Every column of the fixed part, first-seen order, without duplicates."""
        return tuple(dict.fromkeys(c for t in self.fixed_terms for c in t.columns))

    @property
    def has_interactions(self) -> bool:
        return any(t.order > 1 for t in self.fixed_terms)

    @property
    def slope_columns(self) -> tuple[str, ...]:
        """Every column with a random slope in some term, without duplicates."""
        return tuple(dict.fromkeys(s for t in self.random for s in t.columns))

    @property
    def factor_names(self) -> tuple[str, ...]:
        """Distinct grouping factors (lme4 names), in term order."""
        return tuple(dict.fromkeys(t.name for t in self.random))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every data column the model uses, without duplicates, in a stable order."""
        ordered = (self.outcome, *self.fixed_columns, *self.slope_columns, *self.group_columns)
        return tuple(dict.fromkeys(ordered))

    @property
    def method(self) -> str:
        return "REML" if self.reml else "ML"

    def formula(self) -> str:
        """The lme4 formula this spec stands for, as lme4 prints it.

        Terms are written in R's order; where that order would make R (and
        ``lib.model.formula``) name an interaction's columns differently (R names
        them in order of first mention), the highest-order terms come first.
        """
        labels = [t.label for t in _render_order(self.fixed_terms)]
        fixed = " + ".join(["1" if self.intercept else "0", *labels])
        random = " + ".join(t.formula() for t in self.random)
        return f"{r_name(self.outcome)} ~ {fixed} + {random}"

    def with_changes(self, **changes: object) -> ModelSpec:
        """A copy with some fields replaced (the spec itself is frozen)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def with_term(self, index: int = 0, **changes: object) -> ModelSpec:
        """A copy with one random term's fields replaced (``slopes``, ``correlated``...)."""
        terms = list(self.random)
        terms[index] = replace(terms[index], **changes)  # type: ignore[arg-type]
        return replace(self, random=tuple(terms))

    def to_dict(self) -> dict[str, object]:
        """The CLI's MODEL.json form (shape in the module docstring)."""
        data: dict[str, object] = {
            "outcome": self.outcome,
            "fixed": [e if isinstance(e, str) else list(e.columns) for e in self.fixed],
            "random": [t.to_dict() for t in self.random],
            "method": self.method,
        }
        if not self.intercept:
            data["intercept"] = False
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ModelSpec:
        """Read the CLI's MODEL.json form, with messages that name the bad key."""
        if not isinstance(data, Mapping):
            raise SpecError(f"A model spec must be a JSON object, got {type(data).__name__}.")
        method = data.get("method", "REML")
        if method not in ("REML", "ML"):
            raise SpecError(f'\'method\' must be "REML" or "ML", got {method!r}.')
        _check_keys(data, {"outcome", "fixed", "intercept", "random", "method"}, "the model spec")
        if "outcome" not in data:
            raise SpecError("The model spec needs an 'outcome' column name.")
        random = data.get("random", [])
        if not isinstance(random, list | tuple):
            raise SpecError(f"'random' must be a list of terms, got {random!r}.")
        fixed = data.get("fixed", [])
        if isinstance(fixed, str):
            fixed = [fixed]
        if not isinstance(fixed, list | tuple):
            raise SpecError(
                f"'fixed' must be a list of column names and [column, column] "
                f"interactions, got {fixed!r}."
            )
        for entry in fixed:
            if not isinstance(entry, str) and not isinstance(entry, list | tuple):
                raise SpecError(
                    "Each entry of 'fixed' must be a column name or a list of column "
                    f"names (an interaction), got {entry!r}."
                )
        return cls(
            outcome=data["outcome"],  # type: ignore[arg-type]
            fixed=tuple(_fixed_entry(e) for e in fixed),
            random=tuple(RandomTerm.from_dict(t) for t in random),
            reml=method == "REML",
            intercept=data.get("intercept", True),  # type: ignore[arg-type]
        )


def _variable_order(terms: Iterable[FixedTerm]) -> dict[str, int]:
    return {c: k for k, c in enumerate(dict.fromkeys(c for t in terms for c in t.columns))}


def _consistent(terms: tuple[FixedTerm, ...], written: Iterable[FixedTerm]) -> bool:
    """Whether R, reading the terms in the written order, names them as ``terms`` do."""
    rank = _variable_order(written)
    return all(list(t.columns) == sorted(t.columns, key=rank.__getitem__) for t in terms)


def _render_order(terms: tuple[FixedTerm, ...]) -> tuple[FixedTerm, ...]:
    """The order to write the fixed terms in (see ``ModelSpec.formula``)."""
    if _consistent(terms, terms):
        return terms
    return tuple(sorted(terms, key=lambda t: -t.order))


NESTED = "nested"
CROSSED = "crossed"
RELATIONS = (NESTED, CROSSED)


@dataclass(frozen=True)
class GroupLevel:
    """A grouping column below the first one and how it relates to the level above.

    Attributes
    ----------
    column : str
        The grouping column (``class``).
    relation : str
        ``"nested"`` (each group lies within one group of the level above) or
        ``"crossed"`` (groups cut across those of the level above).
    """

    column: str
    relation: str = NESTED

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise SpecError(
                f"The relation of grouping column '{self.column}' must be 'nested' or "
                f"'crossed', got {self.relation!r}."
            )
