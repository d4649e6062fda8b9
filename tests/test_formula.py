"""lib.model.formula: lme4 formulas read by our own parser into ModelSpec values."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.errors import SpecError
from lib.model.formula import FormulaError, parse_formula, tokenize
from lib.model.spec import FixedTerm, ModelSpec, RandomTerm


def test_the_brief_s_formula():
    spec = parse_formula("y ~ a * b + c + a:c + (1 + x | g) + (1 | g1/g2) + (x || h)")
    assert spec.fixed == ("a", "b", "c", FixedTerm(("a", "b")), FixedTerm(("a", "c")))
    assert spec.intercept
    assert spec.random == (
        RandomTerm(("g",), slopes=("x",)),
        RandomTerm(("g1",)),
        RandomTerm(("g2", "g1")),  # lme4's g2:g1
        RandomTerm(("h",), slopes=("x",), correlated=False),
    )


@pytest.mark.parametrize(
    "formula,fixed,intercept",
    [
        ("y ~ x + (1 | g)", ("x",), True),
        ("y ~ 1 + x + (1 | g)", ("x",), True),
        ("y ~ 0 + x + (1 | g)", ("x",), False),
        ("y ~ x - 1 + (1 | g)", ("x",), False),
        ("y ~ -1 + x + (1 | g)", ("x",), False),
        ("y ~ x - 1 + 1 + (1 | g)", ("x",), True),
        ("y ~ (1 | g)", (), True),
        ("y ~ a*b - a:b + (1 | g)", ("a", "b"), True),
        ("y ~ (a + b + c)^2 + (1 | g)", ("a", "b", "c", ("a", "b"), ("a", "c"), ("b", "c")), True),
        ("y ~ a/x + (1 | g)", ("a", ("a", "x")), True),
        ("y ~ x %in% a + (1 | g)", (("x", "a"),), True),
        ("y ~ (a + b):c + (1 | g)", (("a", "c"), ("b", "c")), True),
        # R names an interaction's columns in order of first mention, then sorts terms by order
        ("y ~ b:a + a + (1 | g)", ("a", ("b", "a")), True),
        ("y ~ x + z:x + a:z + (1 | g)", ("x", ("x", "z"), ("z", "a")), True),
        ("y ~ a:b:c + a + (1 | g)", ("a", ("a", "b", "c")), True),
    ],
)
def test_fixed_part_follows_r_terms(formula, fixed, intercept):
    spec = parse_formula(formula)
    expected = tuple(f if isinstance(f, str) else FixedTerm(f) for f in fixed)
    assert spec.fixed == expected
    assert spec.intercept is intercept


@pytest.mark.parametrize(
    "formula,terms",
    [
        ("y ~ (1 | g)", [RandomTerm(("g",))]),
        ("y ~ (0 + x | g)", [RandomTerm(("g",), intercept=False, slopes=("x",))]),
        ("y ~ (-1 + x | g)", [RandomTerm(("g",), intercept=False, slopes=("x",))]),
        ("y ~ (x | g)", [RandomTerm(("g",), slopes=("x",))]),
        ("y ~ (1 + x + z | g)", [RandomTerm(("g",), slopes=("x", "z"))]),
        ("y ~ (x || g)", [RandomTerm(("g",), slopes=("x",), correlated=False)]),
        ("y ~ (1 | g) + (0 + x | g)", [RandomTerm(("g",), slopes=("x",), correlated=False)]),
        ("y ~ (1 | g1:g2)", [RandomTerm(("g1", "g2"))]),
        (
            "y ~ (1 | a/b/c)",
            [RandomTerm(("a",)), RandomTerm(("b", "a")), RandomTerm(("c", "b", "a"))],
        ),
        ("y ~ (1 | s) + (1 | i)", [RandomTerm(("s",)), RandomTerm(("i",))]),
        (
            "y ~ (x || g/h)",
            [
                RandomTerm(("g",), slopes=("x",), correlated=False),
                RandomTerm(("h", "g"), slopes=("x",), correlated=False),
            ],
        ),
    ],
)
def test_random_terms_follow_lme4(formula, terms):
    assert list(parse_formula(formula).random) == terms


def test_oats_split_plot_is_accepted():
    # Variety is a fixed effect and part of the grouping factor Variety:Block (lme4 allows it).
    spec = parse_formula("yield ~ nitro + Variety + (1 | Block/Variety)")
    assert spec.fixed == ("nitro", "Variety")
    assert spec.factor_names == ("Block", "Variety:Block")


def test_backticks_and_r_escapes():
    spec = parse_formula(r"`my y` ~ `a\`b` + `c\\d` + `new\nline` + `\u00e9t\u00e9` + (1 | `g g`)")
    assert spec.outcome == "my y"
    assert spec.fixed == ("a`b", "c\\d", "new\nline", "été")
    assert spec.random[0].group == ("g g",)


def test_unicode_names_need_no_backticks():
    assert parse_formula("größe ~ alter + (1 | schule)").fixed == ("alter",)


def test_reml_flag():
    assert parse_formula("y ~ x + (1 | g)", reml=False).method == "ML"


ERRORS = [
    ("", r"empty"),
    ("y", r"expected '~'"),
    ("~ x + (1 | g)", r"character 1 .*no outcome"),
    ("y ~ x", r"no random-effect term"),
    ("y ~ logit(x) + (1 | g)", r"character 5 .*function calls such as logit"),
    ("logit(y) ~ x + (1 | g)", r"character 1 .*function calls"),
    ("y ~ log(x + 1) + (1 | g)", r"character 11 .*expected '\)' to close log\("),
    ("y ~ x ** 2 + (1 | g)", r"character 8 .*expected a column name"),
    ("y ~ x + (1 | g", r"expected '\)' to close the '\(' at character 9"),
    ("y ~ x + (1 | g))", r"closes no '\('"),
    ("y ~ x + 1 | g", r"must be in parentheses"),
    ("y ~ x + 'a' + (1 | g)", r"character 9 .*quotes"),
    ("y ~ x + `abc + (1 | g)", r"never closed"),
    ("y ~ x + `` + (1 | g)", r"empty name"),
    ("y ~ x ^ 1.5 + (1 | g)", r"whole number"),
    ("y ~ x + 2 + (1 | g)", r"only 1 and 0"),
    ("y ~ x + (x:1 | g)", r"the number 1 cannot be used inside an expression"),
    ("y ~ x + (1 | g) ~ z", r"one '~'"),
    ("y ~ y + (1 | g)", r"outcome 'y' also appears"),
    ("y ~ . + (1 | g)", r"'\.' \(all other columns\)"),
    ("y ~ x + (1 | g) - (1 | g)", r"cannot be removed"),
    ("y ~ x %o% z + (1 | g)", r"%in%"),
    ("y ~ x + (1 | g) + (1 | g)", r"listed twice"),
    ("y ~ 0 + (1 | g)", r"needs at least one fixed predictor"),
    ("y ~ x $ z + (1 | g)", r"character 7 .*'\$' has no meaning"),
    ("y ~ " + "(" * 80 + "x" + ")" * 80 + " + (1 | g)", r"deeper than"),
    ("y ~ (a+b+c+d+e+f+g+h+i+j+k+l+m)^10 + (1 | g)", r"more than 2000 fixed terms"),
]


@pytest.mark.parametrize("formula,message", ERRORS, ids=[e[0][:30] or "empty" for e in ERRORS])
def test_bad_formulas_say_where_and_what(formula, message):
    with pytest.raises(SpecError, match=message):
        parse_formula(formula)


def test_formula_error_is_a_spec_error_with_position():
    with pytest.raises(FormulaError) as info:
        parse_formula("y ~ a + * b + (1 | g)")
    assert "character 9" in str(info.value)
    assert "near 'y ~ a + * b + (1 | g" in str(info.value)


def test_nothing_is_evaluated():
    evil = "__import__('os').system('echo pwned')"
    with pytest.raises(FormulaError, match="cannot start with '_'; write such a name in backt"):
        parse_formula(f"y ~ {evil} + (1 | g)")
    with pytest.raises(FormulaError, match="function calls such as system"):
        parse_formula("y ~ system(x) + (1 | g)")
    spec = parse_formula(f"y ~ `{evil}` + (1 | g)")
    assert spec.fixed == (evil,)


def test_tokens_of_operators():
    kinds = [(t.kind, t.text) for t in tokenize("y~a||b%in%c")]
    assert kinds == [
        ("name", "y"),
        ("op", "~"),
        ("name", "a"),
        ("op", "||"),
        ("name", "b"),
        ("op", "%in%"),
        ("name", "c"),
        ("end", ""),
    ]


# --- round trip: spec -> formula text -> spec, for hostile names ---------------------

NAMES = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from([".", "..", "..1", "if", "TRUE", "NA", "in", "x.1", "_x", "a`b", "a\\b"]),
)


@st.composite
def specs(draw) -> ModelSpec:
    names = draw(st.lists(NAMES, min_size=6, max_size=6, unique=True))
    outcome, a, b, c, g, h = names
    fixed = draw(
        st.sampled_from(
            [
                (a,),
                (a, b),
                (a, b, FixedTerm((a, b))),
                (a, b, c, FixedTerm((a, c)), FixedTerm((b, c)), FixedTerm((a, b, c))),
                (a, FixedTerm((b, a))),
                (),
            ]
        )
    )
    intercept = draw(st.booleans()) or not fixed
    correlated = draw(st.booleans())
    term = draw(
        st.sampled_from(
            [
                RandomTerm((g,)),
                RandomTerm((g,), slopes=(a,), correlated=correlated),
                RandomTerm((g, h)),
                RandomTerm((g,), intercept=False, slopes=(a, b), correlated=correlated),
            ]
        )
    )
    extra = draw(st.sampled_from([(), (RandomTerm((h,)),), (RandomTerm((h, g)),)]))
    return ModelSpec(
        outcome=outcome,
        fixed=fixed,
        random=(term, *extra),
        intercept=intercept,
        reml=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(specs())
def test_rendered_formula_reads_back_as_the_same_spec(spec):
    text = spec.formula()
    assert parse_formula(text, reml=spec.reml) == spec


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_gives_a_spec_or_a_formula_error(text):
    try:
        parse_formula(text)
    except SpecError as exc:
        assert str(exc)
        assert re.search(r"\w", str(exc))


def test_hostile_names_render_with_backticks():
    names = ["a b", "it's", 'say "hi"', "back`tick", "new\nline", "__import__('os')", "ünï", "1x"]
    spec = ModelSpec(outcome="y", fixed=tuple(names), random=(RandomTerm(("g",)),))
    text = spec.formula()
    for name in names:
        assert name not in text.replace("`" + name + "`", "") or "`" in text
    assert parse_formula(text) == spec
