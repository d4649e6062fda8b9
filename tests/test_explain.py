"""lib.present.explain without Streamlit: the singular-fit offer is a value the app maps to
its own toggles, and a model the app cannot change gets the explanation without an offer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lib.lmm import fit_lmm
from lib.model.formula import parse_formula
from lib.model.spec import ModelSpec, RandomTerm
from lib.present import explain
from lib.present.explain import Simplification
from lib.table.catalogue import load_bundled

CROSSED = Path(__file__).parent / "reference" / "data" / "singular_crossed.csv"


def test_one_term_offer_names_the_only_level():
    # lme4: isSingular TRUE, the intercept-slope correlation -1.000 (see test_model_page).
    spec = ModelSpec.one_factor("invest", "firm", random_slopes=("value",))
    fit = fit_lmm(load_bundled("grunfeld"), spec)
    text, offer = explain.singular(fit)
    assert "perfectly correlated" in text and text.endswith("without the correlation:")
    assert offer == Simplification("correlation", None, "Remove the correlation")


def test_several_terms_offer_only_what_the_app_can_change():
    # The reference set's crossed model whose rater variance lme4 estimates as 0.
    spec = ModelSpec(
        outcome="y",
        fixed=("x",),
        random=(RandomTerm(group=("site",)), RandomTerm(group=("rater",))),
    )
    fit = fit_lmm(pd.read_csv(CROSSED), spec)
    assert fit.singular
    text, offer = explain.singular(fit)
    assert "between rater groups (`(1 | rater)`)" in text
    assert text.endswith("Try the model without it:")
    assert offer == Simplification("intercept", "rater", "Drop the term `(1 | rater)`")
    asked = []
    text, offer = explain.singular(fit, lambda column: asked.append(column) or False)
    assert offer is None and asked == ["rater"]
    assert "rater groups" in text and "Try the model" not in text


# ------------------------------------------------------------------ interactions

REFERENCE = Path(__file__).parent / "reference" / "data"


def _fit(formula: str, data: str):
    frame = pd.read_csv(REFERENCE / data, dtype={"school": str, "student": str})
    return fit_lmm(frame, parse_formula(formula))


def test_cross_level_interactions_in_words():
    fit = _fit("mAch ~ meanses * cses + sector * cses + (cses | school)", "formula_hsb82.csv")
    b = dict(zip(fit.fixef_names, fit.beta, strict=True))
    assert f"{b['cses:sectorPublic']:.3f}" == "1.643"
    text = explain.fixef(fit)
    assert (
        "The slope of **cses** is 1.643 higher where **sector** is **Public** than at the "
        "reference category (t = 6.85)."
    ) in text
    assert ("The slope of **cses** is 1.039 higher for each additional unit of **meanses**") in text
    assert text.startswith(
        "The average baseline mAch is 13.355 when meanses = 0 and cses = 0 and **sector** is "
        "at its reference category"
    )
    assert (
        "Each additional unit of meanses changes the predicted mAch by 5.333 on average "
        "across groups where cses = 0"
    ) in text
    assert "(**sector** is **Public**) differs from the reference category by -1.227" in text


def test_category_by_category_interaction_in_words():
    fit = _fit("normexam ~ sex * vr + (1 | school)", "formula_exam.csv")
    text = explain.fixef(fit)
    assert (
        "Where **sex** is **M** and **vr** is **top 25%** together, the predicted normexam is "
        "0.056 higher than the separate differences of these categories add up to"
    ) in text


def test_slope_per_category_without_its_margin():
    """mAch ~ cses:sector: no main effect of cses, so each dummy gets its own slope."""
    fit = _fit("mAch ~ cses:sector + (1 | school)", "formula_hsb82.csv")
    text = explain.fixef(fit)
    assert "Where **sector** is **Catholic**, the slope of **cses** is 1.434" in text
    assert "Where **sector** is **Public**, the slope of **cses** is 2.782" in text


def test_formula_in_words_names_the_interactions_and_the_intercept():
    text = explain.formula(parse_formula("y ~ a * b + c:d + (1 | g)"))
    assert text.startswith(
        "You predict **y** from **a** and **b** with a fixed intercept (`1`) and one overall "
        "slope for each predictor, and the interactions `a:b` and `c:d`, which let the effect "
        "of one predictor depend on the value of the other."
    )
    text = explain.formula(parse_formula("y ~ 0 + x + (0 + x | g)"))
    assert text.startswith("You predict **y** from **x** without a fixed intercept (`0 +`)")
    text = explain.formula(parse_formula("y ~ x:z + (1 | g)"))
    assert text.startswith(
        "You predict **y** with a fixed intercept (`1`) and the interaction `x:z`, which lets"
    )


def test_fixed_effect_correlation_of_two_non_slopes_is_named():
    fit = _fit("normexam ~ sex * vr + (1 | school)", "formula_exam.csv")
    text = explain.fixef_corr(fit)
    assert "between the estimates of \\(Intercept\\) and sexM" in text
    assert "intercept and slope" not in text
