"""lme4 model formulas, read by our own tokenizer and parser; nothing is evaluated.

``parse_formula("y ~ a * b + (1 + x | g)")`` returns the ``ModelSpec`` that lme4
would fit. No text reaches ``eval``, patsy or formulaic: a formula is split into
tokens, parsed by recursive descent into a small tree, and the tree is read with
R's formula algebra (``src/library/stats/src/model.c``: ``EncodeVars``,
``PlusTerms``, ``InteractTerms``, ``CrossTerms``, ``PowerTerms``, ``NestTerms``,
``DeleteTerms``) and lme4's rules for bars (``findbars``, ``expandDoubleVerts``,
``expandSlash``).

Grammar (R's operator precedence, loosest first)::

    formula  := outcome "~" sum
    sum      := product (("+" | "-") product)*
    product  := in_term (("*" | "/") in_term)*
    in_term  := unary ("%in%" unary)*
    unary    := ("-" | "+") unary | inter
    inter    := power (":" power)*
    power    := atom ("^" INTEGER)?
    atom     := NAME | `quoted name` | INTEGER | "(" sum ")"
              | "(" sum ("|" | "||") group ")"        (a random-effect term)

Fixed part: column names; ``a:b`` (interaction), ``a*b`` (= ``a + b + a:b``),
``a/b`` (= ``a + a:b``), ``b %in% a`` (= ``b:a``), ``(a + b + c)^2`` (all
terms up to two-way), ``- term`` (removes it), and the intercept: ``1 +``
(default), ``0 +`` or ``- 1`` (none). Random part, in parentheses only:
``(1 | g)``, ``(1 + x | g)``, ``(0 + x | g)``, ``(x || g)`` (uncorrelated),
``(1 | g1:g2)`` (the interaction's levels), ``(1 | g1/g2)`` (nested:
``(1 | g1) + (1 | g2:g1)``; lme4 names a third level ``g3:(g2:g1)``, we
``g3:g2:g1``). The left side of a bar is read as R reads a formula's terms: 1, 0,
columns and their interactions (``(1 + x | g)``, ``(0 + x:f | g)``, ``(x * f | g)``);
a numeric column is a random slope, a categorical one enters as its dummy columns
(``(urban | district)`` has ``(Intercept)`` and ``urbanY``; see
``lib.model.random_effects``).
Names that are not syntactic in R are written in backticks, with R's escapes
(``\\``` for a backtick, ``\\\\`` for a backslash, ``\\n``, ``\\t``, ``\\uXXXX``...).

Computed columns: ``log(x)``, ``log2``, ``log10``, ``sqrt``, ``exp``, ``scale(x)``
and ``I(x^k)`` of one column are read as a column named by the expression (R's
coefficient name), which ``lib.model.transforms`` computes; on either side of "~".

Not accepted, each with a message that names the position: other function calls
(compute the column first), strings, ``.``, ``offset``, numbers
other than 0 and 1 (and a whole exponent after ``^``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lib.errors import SpecError
from lib.model.formula_tokens import (
    ALLOWED,
    MAX_LENGTH,
    FormulaError,
    Token,
    fail_at,
    tokenize,
)
from lib.model.spec import FixedTerm, ModelSpec, RandomTerm, r_name
from lib.model.transforms import FUNCTIONS

CALLS = (
    "Computed here: log(x), log2(x), log10(x), sqrt(x), exp(x), scale(x) and I(x^k) of one "
    "column (lib.model.transforms); anything else, compute as a column first."
)

MAX_DEPTH = 60  # nested parentheses and unary signs


MAX_TERMS = 2_000  # fixed terms an expansion such as (a + b + ...)^k may produce


MAX_POWER = 10


@dataclass(frozen=True)
class Node:
    """One node of the parsed formula: an operator with operands, a name or a number."""

    kind: str  # "name", "number", "paren", "bar", or an operator ("+", ":", "neg", ...)
    start: int
    children: tuple[Node, ...] = ()
    text: str = ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.k = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.k]

    def advance(self) -> Token:
        tok = self.tokens[self.k]
        self.k += 1
        return tok

    def at(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def error(self, problem: str, token: Token | None = None) -> FormulaError:
        return fail_at(self.text, (token or self.token).start, problem)

    def describe(self, token: Token) -> str:
        if token.kind == "end":
            return "the end of the formula"
        if token.kind == "name":
            return f"the name {token.text!r}"
        return f"'{token.text}'"

    def expect_operand(self) -> None:
        tok = self.token
        if tok.kind in ("name", "number") or self.at("(", "-", "+"):
            return
        raise self.error(
            f"expected a column name, a number or '(' but found {self.describe(tok)}. {ALLOWED}"
        )

    def formula(self) -> tuple[Node, Node]:
        if self.token.kind == "end":
            raise self.error("the formula is empty; write it as outcome ~ predictors.")
        if self.at("~"):
            raise self.error("the formula has no outcome before '~' (write y ~ x + (1 | g)).")
        lhs = self.sum()
        if not self.at("~"):
            raise self.error(
                f"expected '~' after the outcome but found {self.describe(self.token)}; "
                "write the formula as outcome ~ predictors + (1 | group)."
            )
        self.advance()
        rhs = self.sum()
        if self.token.kind != "end":
            tok = self.token
            if self.at(")"):
                problem = "this ')' closes no '('."
            elif self.at("~"):
                problem = "a formula has one '~'."
            elif self.at("|", "||"):
                problem = "a random-effect term must be in parentheses, as in (1 + x | g)."
            else:
                problem = (
                    f"unexpected {self.describe(tok)} where an operator (+, -, *, /, :) "
                    f"was expected. {ALLOWED}"
                )
            raise self.error(problem)
        return lhs, rhs

    def _nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the formula nests deeper than {MAX_DEPTH} levels.")

    def sum(self) -> Node:
        node = self.product()
        while self.at("+", "-"):
            op = self.advance()
            node = Node(op.text, op.start, (node, self.product()))
        return node

    def product(self) -> Node:
        node = self.in_term()
        while self.at("*", "/"):
            op = self.advance()
            node = Node(op.text, op.start, (node, self.in_term()))
        return node

    def in_term(self) -> Node:
        node = self.unary()
        while self.at("%in%"):
            op = self.advance()
            node = Node("%in%", op.start, (node, self.unary()))
        return node

    def unary(self) -> Node:
        if self.at("-", "+"):
            op = self.advance()
            self._nest()
            operand = self.unary()
            self.depth -= 1
            return Node("neg" if op.text == "-" else "pos", op.start, (operand,))
        return self.inter()

    def inter(self) -> Node:
        node = self.power()
        while self.at(":"):
            op = self.advance()
            node = Node(":", op.start, (node, self.power()))
        return node

    def power(self) -> Node:
        node = self.atom()
        if self.at("^"):
            op = self.advance()
            tok = self.token
            if tok.kind != "number" or not tok.text.isdigit() or int(tok.text) < 1:
                raise self.error("'^' must be followed by a whole number such as 2.")
            self.advance()
            node = Node("^", op.start, (node, Node("number", tok.start, text=tok.text)))
        return node

    def atom(self) -> Node:
        self.expect_operand()
        tok = self.advance()
        if tok.kind == "number":
            return Node("number", tok.start, text=tok.text)
        if tok.kind == "name":
            if not tok.quoted and self.at("(") and tok.text in (*FUNCTIONS, "I"):
                return self.call(tok)
            if not tok.quoted and self.at("("):
                raise self.error(
                    f"function calls such as {tok.text}(...) are not evaluated here. {CALLS} "
                    "If a column is literally named that way, write it in backticks: "
                    f"`{tok.text}(...)`.",
                    tok,
                )
            if not tok.quoted and tok.text == ".":
                raise self.error("'.' (all other columns) is not supported; name the columns.", tok)
            return Node("name", tok.start, text=tok.text)
        # "(" sum [ "|" group | "||" group ] ")"
        self._nest()
        inner = self.sum()
        if self.at("|", "||"):
            bar = self.advance()
            group = self.sum()
            inner = Node("bar", bar.start, (inner, group), text=bar.text)
        if not self.at(")"):
            raise self.error(
                f"expected ')' to close the '(' at character {tok.start + 1} but found "
                f"{self.describe(self.token)}."
            )
        self.advance()
        self.depth -= 1
        return Node("paren", tok.start, (inner,))


    def call(self, function: Token) -> Node:
        """``log(x)``, ``scale(`a b`)``, ``I(x^2)``: one column, read as the computed
        column of that name (``lib.model.transforms``)."""
        self.advance()  # "("
        argument = self.token
        if argument.kind != "name":
            raise self.error(
                f"{function.text}() takes one column name here, as in {function.text}(x). "
                f"{CALLS}"
            )
        self.advance()
        text = f"{function.text}({r_name(argument.text)})"
        if function.text == "I":
            power = self.advance() if self.at("^") else None
            digits = self.token
            if power is None or digits.kind != "number" or not digits.text.isdigit():
                raise self.error(f"I() computes a power of one column, as in I(x^2). {CALLS}")
            if not 1 <= int(digits.text) <= MAX_POWER:
                raise self.error(f"the power in I() must be a whole number from 1 to {MAX_POWER}.")
            self.advance()
            text = f"I({r_name(argument.text)}^{int(digits.text)})"
        if not self.at(")"):
            raise self.error(
                f"expected ')' to close {function.text}( at character {function.start + 1}. "
                f"{CALLS}"
            )
        self.advance()
        return Node("name", function.start, text=text)


Term = frozenset  # a fixed term: the set of its columns (R's bit pattern)


class _Reader:
    """Reads the tree into fixed terms, the intercept and random terms."""

    def __init__(self, text: str) -> None:
        self.text = text

    def error(self, node: Node, problem: str) -> FormulaError:
        return fail_at(self.text, node.start, problem)

    def names_in(self, node: Node) -> list[str]:
        """Column names in order of mention (R's variable order)."""
        if node.kind == "name":
            return [node.text]
        return [name for child in node.children for name in self.names_in(child)]

    def top_items(self, node: Node, sign: int = 1) -> list[tuple[int, Node]]:
        """The right-hand side as signed items of its outermost sum."""
        if node.kind == "+":
            return self.top_items(node.children[0], sign) + self.top_items(node.children[1])
        if node.kind == "-":
            return self.top_items(node.children[0], sign) + self.top_items(node.children[1], -1)
        if node.kind == "neg":
            return self.top_items(node.children[0], -sign)
        if node.kind == "pos":
            return self.top_items(node.children[0], sign)
        return [(sign, node)]

    def terms(self, node: Node) -> list[Term]:
        """R's EncodeVars for an expression without intercept markers."""
        kind = node.kind
        if kind == "name":
            return [Term((node.text,))]
        if kind == "paren":
            inner = node.children[0]
            if inner.kind == "bar":
                raise self.error(
                    node,
                    "a random-effect term cannot be part of an interaction or "
                    "product; add it to the formula with +.",
                )
            return self.terms(inner)
        if kind == "number":
            raise self.error(
                node,
                f"the number {node.text} cannot be used inside an expression; 1 and 0 "
                "may only be added to (or 1 removed from) the whole right-hand side.",
            )
        if kind in ("neg", "pos"):
            raise self.error(node, "a sign inside an expression has no meaning here.")
        if kind == "bar":
            raise self.error(node, "write a random-effect term in parentheses: (1 | g).")
        if kind == "^":
            base, exponent = self.terms(node.children[0]), int(node.children[1].text)
            if exponent > MAX_POWER:
                raise self.error(node, f"the exponent after '^' is at most {MAX_POWER}.")
            result = base
            for _ in range(exponent - 1):  # R's PowerTerms
                result = _unique([a | b for a in base for b in result])
                self._check_size(node, result)
            return result
        left, right = self.terms(node.children[0]), self.terms(node.children[1])
        if kind == "+":
            result = _unique(left + right)
        elif kind == "-":
            result = [t for t in left if t not in set(right)]
        elif kind == ":":
            result = _unique([a | b for a in left for b in right])
        elif kind == "*":
            result = _unique(left + right + [a | b for a in left for b in right])
        elif kind == "/":
            everything = Term().union(*left)
            result = _unique(left + [everything | b for b in right])
        elif kind == "%in%":
            everything = Term().union(*right)
            result = _unique([a | everything for a in left])
        else:  # pragma: no cover - the parser produces no other kinds
            raise self.error(node, f"'{kind}' is not supported.")
        self._check_size(node, result)
        return result

    def _check_size(self, node: Node, terms: list[Term]) -> None:
        if len(terms) > MAX_TERMS:
            raise self.error(node, f"this expands to more than {MAX_TERMS} fixed terms.")

    def random(self, node: Node) -> list[RandomTerm]:
        """One parenthesised bar, lme4's expandDoubleVerts + expandSlash."""
        bar = node.children[0]
        effects, group = bar.children
        intercept, slopes, interactions = self.random_effects(effects)
        if not intercept and not slopes and not interactions:
            raise self.error(effects, "a random-effect term needs 1 or at least one column.")
        groups = self.group(group)
        correlated = bar.text == "|"
        return [
            RandomTerm(
                group=g,
                intercept=intercept,
                slopes=tuple(slopes),
                correlated=correlated,
                interactions=tuple(interactions),
            )
            for g in groups
        ]

    def random_effects(self, node: Node) -> tuple[bool, list[str], list[tuple[str, ...]]]:
        """The left side of a bar: intercept, main effects and interactions (R's terms()
        of it: variables in order of mention, interactions after main effects)."""
        intercept, labels = True, []
        order = {name: k for k, name in enumerate(dict.fromkeys(self.names_in(node)))}
        for sign, item in self.top_items(node):
            if item.kind == "number":
                if item.text not in ("0", "1"):
                    raise self.error(
                        item, f"only 1 and 0 may stand for the intercept, not {item.text}."
                    )
                intercept = (item.text == "1") == (sign > 0)
                continue
            terms = [tuple(sorted(t, key=order.__getitem__)) for t in self.terms(item)]
            if sign > 0:
                labels += [t for t in terms if t not in labels]
            else:
                labels = [t for t in labels if t not in terms]
        slopes = [t[0] for t in labels if len(t) == 1]
        interactions = sorted((t for t in labels if len(t) > 1), key=len)  # R: by degree
        return intercept, slopes, interactions

    def group(self, node: Node) -> list[tuple[str, ...]]:
        """Grouping factors of a bar: g, g1:g2 or g1/g2/... (outermost first)."""
        if node.kind == "name":
            return [(node.text,)]
        if node.kind == "paren" and node.children[0].kind != "bar":
            return self.group(node.children[0])
        if node.kind == ":":
            left, right = self.group(node.children[0]), self.group(node.children[1])
            if len(left) != 1 or len(right) != 1:
                raise self.error(
                    node,
                    "an interaction of nested factors is not supported; write "
                    "g1/g2 for g2 nested in g1, or g1:g2 for their interaction.",
                )
            combined = left[0] + right[0]
            if len(set(combined)) != len(combined):
                raise self.error(node, "a grouping column appears twice in this interaction.")
            return [combined]
        if node.kind == "/":
            left, right = self.group(node.children[0]), self.group(node.children[1])
            if len(right) != 1:
                raise self.error(node, "write nested grouping factors as g1/g2/g3.")
            inner = left[-1]
            combined = right[0] + inner
            if len(set(combined)) != len(combined):
                raise self.error(node, "a grouping column appears twice in this nesting.")
            return left + [combined]
        raise self.error(
            node,
            "the grouping factor after '|' must be a column, g1:g2 (their interaction) "
            "or g1/g2 (g2 nested in g1).",
        )


def _unique(terms: list[Term]) -> list[Term]:
    """R's TrimRepeats: first occurrence wins; the empty term (intercept) is dropped."""
    return [t for t in dict.fromkeys(terms) if t]


def _merge_uncorrelated(terms: list[RandomTerm]) -> list[RandomTerm]:
    """``(1 | g) + (0 + x | g)`` is ``(x || g)``: one uncorrelated RandomTerm.

    This is how ``RandomTerm.formula`` writes an uncorrelated term, so a rendered
    spec reads back as the same spec; lme4 fits the two spellings identically.
    """
    merged: list[RandomTerm] = []
    for term in terms:
        prev = merged[-1] if merged else None
        single_slope = not term.intercept and len(term.slopes) == 1 and not term.interactions
        single_inter = not term.intercept and not term.slopes and len(term.interactions) == 1
        joinable = (
            (single_slope or single_inter)
            and prev is not None
            and prev.group == term.group
            and (prev.q == 1 or not prev.correlated)
            and term.labels[0] not in prev.labels
        )
        if joinable and single_slope and not prev.interactions:  # type: ignore[union-attr]
            merged[-1] = RandomTerm(
                group=prev.group,  # type: ignore[union-attr]
                intercept=prev.intercept,  # type: ignore[union-attr]
                slopes=prev.slopes + term.slopes,  # type: ignore[union-attr]
                correlated=False,
            )
        elif joinable and single_inter:
            # Interactions come after the slopes in R's order: appending keeps it.
            merged[-1] = RandomTerm(
                group=prev.group,  # type: ignore[union-attr]
                intercept=prev.intercept,  # type: ignore[union-attr]
                slopes=prev.slopes,  # type: ignore[union-attr]
                correlated=False,
                interactions=prev.interactions + term.interactions,  # type: ignore[union-attr]
            )
        else:
            merged.append(term)
    return merged


def parse_formula(text: str, reml: bool = True) -> ModelSpec:
    """The ModelSpec of an lme4 formula; nothing in ``text`` is evaluated.

    Parameters
    ----------
    text : str
        For example ``"normexam ~ standLRT * schgend + (standLRT | school)"``.
    reml : bool
        REML (lme4's default) or maximum likelihood.

    Raises
    ------
    FormulaError
        A SpecError whose message names the character where the formula is wrong
        and what is allowed there.
    """
    if not isinstance(text, str):
        raise FormulaError(f"A formula must be text, got {type(text).__name__}.")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"The formula has {len(text)} characters; the limit is {MAX_LENGTH}.")
    lhs, rhs = _Parser(text).formula()
    reader = _Reader(text)
    if lhs.kind != "name":
        raise reader.error(
            lhs,
            "the outcome (left of '~') must be one column name; compute a transformed "
            "outcome as a column first.",
        )
    outcome = lhs.text
    fixed: list[Term] = []
    intercept = True
    random: list[RandomTerm] = []
    fixed_nodes: list[Node] = []
    for sign, item in reader.top_items(rhs):
        if item.kind == "paren" and item.children[0].kind == "bar":
            if sign < 0:
                raise reader.error(item, "a random-effect term cannot be removed with '-'.")
            random.extend(reader.random(item))
            continue
        if item.kind == "bar":
            raise reader.error(item, "write a random-effect term in parentheses: (1 | g).")
        fixed_nodes.append(item)
        if item.kind == "number":
            if item.text not in ("0", "1"):
                raise reader.error(item, f"only 1 and 0 stand for the intercept, not {item.text}.")
            intercept = (item.text == "1") == (sign > 0)
            continue
        terms = reader.terms(item)
        if sign > 0:
            fixed = _unique(fixed + terms)
        else:
            fixed = [t for t in fixed if t not in set(terms)]
    if not random:
        raise FormulaError(
            "The formula has no random-effect term such as (1 | group); a mixed model "
            "needs at least one."
        )
    # R's variable order: first mention in the fixed formula, the outcome first.
    order = {name: k for k, name in enumerate(dict.fromkeys(
        [outcome] + [n for node in fixed_nodes for n in reader.names_in(node)]
    ))}  # fmt: skip
    for term in fixed:
        if outcome in term:
            raise FormulaError(
                f"The outcome {outcome!r} also appears among the predictors; remove it "
                "from the right-hand side."
            )
    entries = [FixedTerm(tuple(sorted(t, key=order.__getitem__))) for t in fixed]
    return ModelSpec(
        outcome=outcome,
        fixed=tuple(entries),
        random=tuple(_merge_uncorrelated(random)),
        reml=reml,
        intercept=intercept,
    )


def spec_from_json(data: object) -> ModelSpec:
    """MODEL.json as the CLI reads it: ``{"formula": "...", "method": "ML"}`` or the
    spec's own object form (``ModelSpec.from_dict``), with messages naming the bad key."""
    if isinstance(data, Mapping) and "formula" in data:
        unknown = sorted(set(data) - {"formula", "method"})
        if unknown:
            raise SpecError(
                f"Unknown key(s) {unknown} in a model spec given as a formula; "
                "allowed: ['formula', 'method']."
            )
        method = data.get("method", "REML")
        if method not in ("REML", "ML"):
            raise SpecError(f'\'method\' must be "REML" or "ML", got {method!r}.')
        formula = data["formula"]
        if not isinstance(formula, str):
            raise SpecError(f"'formula' must be a string, got {formula!r}.")
        return parse_formula(formula, reml=method == "REML")
    return ModelSpec.from_dict(data)  # type: ignore[arg-type]
