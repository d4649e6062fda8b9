"""lib.present.equations: LaTeX escaping, the level-1/level-2/combined equations, fitted numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from lib.lmm import fit_lmm
from lib.model.centring import group_level_columns
from lib.model.formula import parse_formula
from lib.model.spec import ModelSpec, RandomTerm
from lib.present.equations import (
    coef_equations,
    fitted_equations,
    latex_escape,
    latex_number,
    latex_text,
    line_equation,
    model_equations,
)
from lib.table.catalogue import load_bundled

RI = ModelSpec.one_factor("test_score", "school", fixed=("study_time",))
RIS = RI.with_term(slopes=("study_time",))
RS = ModelSpec.one_factor(
    "test_score", "school", random_intercept=False, random_slopes=("study_time",)
)


@pytest.fixture(scope="module")
def schools():
    return load_bundled("schools")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("\\", r"\textbackslash{}"),
        ("{", r"\{"),
        ("}", r"\}"),
        ("$", r"\$"),
        ("&", r"\&"),
        ("#", r"\#"),
        ("^", r"\textasciicircum{}"),
        ("_", r"\_"),
        ("%", r"\%"),
        ("~", r"\textasciitilde{}"),
        ("study_time", r"study\_time"),
        ("Résultat final", "Résultat final"),  # letters stay, KaTeX draws them
        ("St Mary’s", "St Mary’s"),
        ("学校", "学校"),
    ],
)
def test_latex_escape_each_special_character(raw, escaped):
    assert latex_escape(raw) == escaped


def test_latex_escape_drops_control_and_format_characters():
    # a line break, a tab, a right-to-left override and a zero-width space
    assert latex_escape("a\nb\tc\u202ed\u200be") == "a b c d e"


def _unescaped_specials(latex: str) -> list[str]:
    """Special characters not preceded by a backslash, and backslashes that start
    anything but a known escape."""
    body = re.sub(r"\\(textbackslash|textasciicircum|textasciitilde)\{\}", "", latex)
    body = re.sub(r"\\[{}$&#_%]", "", body)
    return re.findall(r"[\\{}$&#^_%~]", body)


def test_hostile_name_is_fully_escaped():
    hostile = r"}$\end{document}\input{/etc/passwd}#&^_%~"
    assert _unescaped_specials(latex_escape(hostile)) == []
    text = latex_text(hostile)
    assert text.startswith(r"\text{") and text.endswith("}")
    assert _unescaped_specials(text[len(r"\text{") : -1]) == []


def test_long_names_are_shortened():
    assert latex_text("x" * 100) == r"\text{" + "x" * 39 + "…}"


def test_numbers():
    assert latex_number(30.8531) == "30.853"
    assert latex_number(-8.5188) == "-8.519"
    assert latex_number(1.5e-7) == r"1.500 \times 10^{-7}"
    assert latex_number(2.5e9) == r"2.500 \times 10^{9}"
    assert latex_number(float("nan")) == r"\text{NA}"


def test_symbolic_random_intercept_and_slope():
    eq = model_equations(RIS, ("(Intercept)", "study_time"))
    x = r"\text{study\_time}_{ij}"
    assert eq.level1 == (
        rf"\text{{test\_score}}_{{ij}} = \beta_{{0j}} + \beta_{{1j}} \cdot {x} + \varepsilon_{{ij}}"
    )
    assert eq.level2 == (r"\beta_{0j} = \gamma_{00} + u_{0j}", r"\beta_{1j} = \gamma_{10} + u_{1j}")
    assert eq.combined == (
        rf"\text{{test\_score}}_{{ij}} = \gamma_{{00}} + \gamma_{{10}} \cdot {x} + u_{{0j}} "
        rf"+ u_{{1j}} \cdot {x} + \varepsilon_{{ij}}"
    )
    assert r"\tau_{u01}" in eq.distributions[1]


def test_toggles_change_the_equations():
    """Random intercept only: the slope is fixed (beta_1 = gamma_10); the tutorial's
    random-slope model has no fixed slope (beta_1j = u_1j)."""
    ri = model_equations(RI, ("(Intercept)", "study_time"))
    assert ri.level2 == (r"\beta_{0j} = \gamma_{00} + u_{0j}", r"\beta_{1} = \gamma_{10}")
    assert ri.distributions[1] == r"u_{0j} \sim N(0,\ \tau^2_{u0})"
    rs = model_equations(RS, ("(Intercept)",))
    assert rs.level2 == (r"\beta_{0} = \gamma_{00}", r"\beta_{1j} = u_{1j}")
    null = model_equations(RI.with_changes(fixed=()), ("(Intercept)",))
    assert null.level1 == r"\text{test\_score}_{ij} = \beta_{0j} + \varepsilon_{ij}"


def test_uncorrelated_term_has_one_distribution_per_effect():
    eq = model_equations(RIS.with_term(correlated=False), ("(Intercept)", "study_time"))
    assert eq.distributions[1:] == (
        r"u_{0j} \sim N(0,\ \tau^2_{u0})",
        r"u_{1j} \sim N(0,\ \tau^2_{u1})",
    )


def test_several_terms_get_one_index_and_letter_per_factor():
    spec = ModelSpec(
        outcome="y",
        fixed=("x",),
        random=(RandomTerm(("school",), slopes=("x",)), RandomTerm(("class", "school"))),
    )
    eq = model_equations(spec, ("(Intercept)", "x"))
    assert eq.level1.startswith(r"\text{y}_{ijk} = \beta_{0jk} + \beta_{1j}")
    assert eq.level2[0] == r"\beta_{0jk} = \gamma_{00} + u_{0j} + v_{0k}"
    assert eq.indices[1:] == (
        r"j = \text{level of } \text{school}",
        r"k = \text{level of } \text{class:school}",
    )
    assert len(eq.distributions) == 3  # residual, school's pair, class:school's intercept


def test_fitted_numbers_are_the_fits(schools):
    fit = fit_lmm(schools, RIS)
    eq = fitted_equations(fit)
    b0, b1 = (latex_number(b) for b in fit.beta)
    assert (b0, b1) == ("27.429", "2.003")  # the tutorial's fixed effects
    assert eq.level2 == (rf"\beta_{{0j}} = {b0} + u_{{0j}}", rf"\beta_{{1j}} = {b1} + u_{{1j}}")
    cov = fit.varcorr.terms[0].covariance
    for value in (cov[0, 0], cov[0, 1], cov[1, 1], fit.varcorr.residual_variance):
        assert latex_number(value) in " ".join(eq.distributions)
    # The tutorial printed 92.4861 where lme4 stopped 6e-6 short of the optimum; the
    # engine's search ends on the exact gradient's zero, 92.4866 (tests/test_tutorial_lmer.py).
    assert "92.487" in eq.distributions[1]


def test_group_equations_are_coef(schools):
    fit = fit_lmm(schools, RIS)
    lines = dict(coef_equations(fit, "school"))
    assert list(lines) == ["Hillcrest", "Oakwood", "St Mary’s"]
    # coef() = fixef + ranef: 27.428832 + 10.989442, 2.002611 - 0.87464142 (tutorial)
    assert lines["Hillcrest"] == r"38.418 + 1.128 \cdot \text{study\_time}"


def test_line_equation_with_dummy_offset_as_the_tutorial_writes_it():
    eq = line_equation("test_score", 30.853, [("study_time", 1.949)], offset=-8.519)
    assert eq == (
        r"\widehat{\text{test\_score}} = 30.853 + 1.949 \cdot \text{study\_time} - 8.519 "
        r"= 22.334 + 1.949 \cdot \text{study\_time}"
    )


# ------------------------------------------------ interactions, level-2 predictors

REFERENCE = Path(__file__).parent / "reference"
HSB = "mAch ~ meanses * cses + sector * cses + (cses | school)"
HSB_NAMES = ("(Intercept)", "meanses", "cses", "sectorPublic", "meanses:cses", "cses:sectorPublic")


def _reference_case(case_id: str) -> dict:
    cases = json.loads((REFERENCE / "formula_reference.json").read_text(encoding="utf-8"))
    return next(c for c in cases["cases"] if c["id"] == case_id)


def _data(name: str) -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / name, dtype={"school": str, "student": str})


def test_cross_level_interaction_in_the_level_2_equation_of_the_slope():
    """Raudenbush & Bryk's HSB model: sector and meanses are school-level predictors,
    so their interactions with cses explain the cses slope (its level-2 equation)."""
    spec = parse_formula(HSB)
    frame = _data("formula_hsb82.csv")
    assert group_level_columns(frame, spec) == ("meanses", "sector")
    eq = model_equations(spec, HSB_NAMES, group_level=("meanses", "sector"))
    y, cses = r"\text{mAch}_{ij}", r"\text{cses}_{ij}"
    meanses, public = r"\text{meanses}_{j}", r"\text{sectorPublic}_{j}"
    assert eq.level1 == rf"{y} = \beta_{{0j}} + \beta_{{1j}} \cdot {cses} + \varepsilon_{{ij}}"
    assert eq.level2 == (
        rf"\beta_{{0j}} = \gamma_{{00}} + \gamma_{{01}} \cdot {meanses} + \gamma_{{02}} \cdot "
        rf"{public} + u_{{0j}}",
        rf"\beta_{{1j}} = \gamma_{{10}} + \gamma_{{11}} \cdot {meanses} + \gamma_{{12}} \cdot "
        rf"{public} + u_{{1j}}",
    )
    assert eq.combined == (
        rf"{y} = \gamma_{{00}} + \gamma_{{01}} \cdot {meanses} + \gamma_{{02}} \cdot {public} "
        rf"+ \gamma_{{10}} \cdot {cses} + \gamma_{{11}} \cdot {meanses} \cdot {cses} "
        rf"+ \gamma_{{12}} \cdot {public} \cdot {cses} + u_{{0j}} + u_{{1j}} \cdot {cses} "
        rf"+ \varepsilon_{{ij}}"
    )
    assert eq.distributions[1].startswith(r"\begin{pmatrix}u_{0j} \\ u_{1j}\end{pmatrix}")


def test_without_level_2_columns_interactions_are_products_at_level_1():
    eq = model_equations(parse_formula(HSB), HSB_NAMES)
    assert r"\beta_{4} \cdot \text{meanses}_{ij} \cdot \text{cses}_{ij}" in eq.level1
    assert r"\beta_{5} \cdot \text{cses}_{ij} \cdot \text{sectorPublic}_{ij}" in eq.level1
    assert eq.level2[2] == r"\beta_{2j} = \gamma_{20} + u_{2j}"
    assert r"\gamma_{50} \cdot \text{cses}_{ij} \cdot \text{sectorPublic}_{ij}" in eq.combined


def test_fitted_cross_level_equations_show_lme4s_fixed_effects():
    spec = parse_formula(HSB)
    fit = fit_lmm(_data("formula_hsb82.csv"), spec)
    eq = fitted_equations(fit, group_level=("meanses", "sector"))
    g = [latex_number(v) for v in _reference_case("hsb82_cross_level")["best"]["fixef"]]
    assert g[4] == "1.039" and g[5] == "1.643"
    meanses, public = r"\text{meanses}_{j}", r"\text{sectorPublic}_{j}"
    assert eq.level2[1] == (
        rf"\beta_{{1j}} = {g[2]} + {g[4]} \cdot {meanses} + {g[5]} \cdot {public} + u_{{1j}}"
    )
    assert eq.level2[0] == (
        rf"\beta_{{0j}} = {g[0]} + {g[1]} \cdot {meanses} - {g[3].lstrip('-')} \cdot {public} "
        r"+ u_{0j}"
    )


def test_exam_school_gender_explains_the_standlrt_slope():
    """Exam: schgend (boys', girls', mixed school) is constant within school."""
    spec = parse_formula("normexam ~ standLRT * schgend + (standLRT | school)")
    names = tuple(_reference_case("exam_interaction")["fixef_names"])
    exam = _data("formula_exam.csv")
    eq = model_equations(spec, names, group_level=group_level_columns(exam, spec))
    girls, mixed = r"\text{schgendgirls}_{j}", r"\text{schgendmixed}_{j}"
    assert eq.level2[1] == (
        rf"\beta_{{1j}} = \gamma_{{10}} + \gamma_{{11}} \cdot {girls} + \gamma_{{12}} \cdot "
        rf"{mixed} + u_{{1j}}"
    )
    assert len(eq.level2) == 2


def test_intercept_free_model_has_no_gamma_00():
    spec = parse_formula("normexam ~ 0 + standLRT + sex + standLRT:sex + (1 | school)")
    names = tuple(_reference_case("exam_no_intercept_ml")["fixef_names"])
    assert names == ("standLRT", "sexF", "sexM", "standLRT:sexM")
    eq = model_equations(spec, names)
    assert eq.level2[0] == r"\beta_{0j} = u_{0j}"
    assert r"\gamma_{00}" not in eq.combined
    assert r"\beta_{4} \cdot \text{standLRT}_{ij} \cdot \text{sexM}_{ij}" in eq.level1
    # Without a random intercept there is no beta_0 at all.
    spec = parse_formula("normexam ~ 0 + standLRT + (0 + standLRT | school)")
    eq = model_equations(spec, ("standLRT",))
    assert eq.level1 == (
        r"\text{normexam}_{ij} = \beta_{1j} \cdot \text{standLRT}_{ij} + \varepsilon_{ij}"
    )


def test_group_lines_write_interactions_as_products():
    spec = parse_formula("mAch ~ cses * sector + (cses | school)")
    fit = fit_lmm(_data("formula_hsb82.csv"), spec)
    first = coef_equations(fit, "school", max_groups=1)[0][1]
    assert r"\cdot \text{cses} \cdot \text{sectorPublic}" in first
    assert "cses:sector" not in first
