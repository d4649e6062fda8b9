"""Equations and code on the Model page, per-school details on the Compare page:
the numbers shown are lib's."""

from __future__ import annotations

import ast

from conftest import whole_table

from lib.lmm import fit_lmm
from lib.model.formula import parse_formula
from lib.model.spec import ModelSpec
from lib.ols.regressions import fit_per_group
from lib.present.equations import coef_equations, fitted_equations, latex_number
from lib.present.ols_summary import per_group_statistics
from lib.present.snippets import lme4_call, python_script
from lib.table.catalogue import load_bundled

RIS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


def _latex(at) -> list[str]:
    """The page's equations: LaTeX elements, and the Model page's one Markdown element
    that carries its equations as ``$$ ... $$`` blocks."""
    math = [element.value for element in at.markdown if "$$" in element.value]
    return [element.body for element in at.latex] + math


def test_model_page_equations_follow_the_toggles_and_show_the_fit(open_page):
    at = open_page("pages/3_Model.py", {"random_slope": "true"})
    assert not at.exception
    fit = fit_lmm(load_bundled("schools"), RIS)
    shown = "\n".join(_latex(at))
    fitted = fitted_equations(fit)
    for row in fitted.combined_rows[1:]:
        assert row in shown
    assert fitted.combined_rows[0].replace(" = ", " &= ", 1) in shown
    b0 = latex_number(fit.beta[0])
    assert rf"\beta_{{0j}} &= {b0} + u_{{0j}}" in shown
    assert b0 == "27.429"  # the tutorial's fixed intercept
    for _level, eq in coef_equations(fit, "school"):
        assert eq in shown
    codes = {c.language: c.value for c in at.code if c.language in ("r", "python")}
    assert lme4_call(RIS, "schools.csv") in [c.value for c in at.code]
    script = codes["python"]
    assert script == python_script(RIS, "schools", "schools.csv").rstrip("\n")
    ast.parse(script)

    at.sidebar.toggle(key="random_slope").set_value(False).run()
    shown = "\n".join(_latex(at))
    assert r"\beta_{1} &= \gamma_{10}" in shown  # random intercept: the slope is fixed
    assert "REML = TRUE" in "\n".join(c.value for c in at.code)


def test_compare_page_shows_each_schools_equation_and_summary_lm(open_page):
    at = open_page("pages/4_Compare.py")
    assert not at.exception
    shown = "\n".join(_latex(at))
    # The tutorial's dummy-model and separate-regression equations.
    assert r"\text{Oakwood}: & 30.853 + 1.949 \cdot \text{study\_time} - 8.519" in shown
    assert r"& = 22.334 + 1.949 \cdot \text{study\_time}" in shown
    assert r"\text{Hillcrest}: & 38.579 + 1.112 \cdot \text{study\_time}" in shown
    per_group = fit_per_group(load_bundled("schools"), "test_score", ["study_time"], "school")
    want = per_group_statistics(per_group)
    table = whole_table(at, "Adj. R-squared")  # with the residuals' table next to it
    for school in want.index:
        assert table.loc[school, "Residual SE"] == f"{want.loc[school, 'Residual SE']:,.3f}"
        assert table.loc[school, "Adj. R-squared"] == f"{want.loc[school, 'Adj. R-squared']:.4f}"
        assert table.loc[school, "F"] == f"{want.loc[school, 'F']:,.2f}"
        assert table.loc[school, "Median"] == f"{want.loc[school, 'Median']:.4f}"
    # and those are the tutorial's printed numbers
    assert table.loc["Hillcrest", "Residual SE"] == "2.830"
    assert table.loc["Oakwood", "Adj. R-squared"] == "0.7992"
    assert table.loc["St Mary’s", "F"] == "549.91"
    assert table.loc["Hillcrest", "p-value"] == "3.4e-13"  # as the tutorial prints it


HOSTILE_Y = "score$^_{x}\\input{a}"
HOSTILE_X = "x'); import os #"
HOSTILE_G = "<b>school</b> & ~%"


def test_hostile_column_names_are_escaped_in_equations_and_literal_in_code(open_page):
    from ui.state import UploadedTable

    rows = [",".join(f'"{c}"' for c in (HOSTILE_G, HOSTILE_X, HOSTILE_Y))]
    for i in range(30):
        rows.append(f"g{i % 3},{i % 7},{3 + i % 5 + (i % 3) * 2}")
    at = open_page("pages/3_Model.py")
    at.session_state["_upload"] = UploadedTable.from_bytes("evil'.csv", "\n".join(rows).encode())
    at.run()
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    at.sidebar.selectbox(key="y").set_value(HOSTILE_Y).run()
    at.sidebar.selectbox(key="x").set_value(HOSTILE_X).run()
    at.sidebar.selectbox(key="group").set_value(HOSTILE_G).run()
    assert not at.exception
    shown = "\n".join(_latex(at))
    assert r"\text{score\$\textasciicircum{}\_\{x\}\textbackslash{}input\{a\}}" in shown
    assert r"\text{<b>school</b> \& \textasciitilde{}\%}" in shown
    script = next(c.value for c in at.code if c.language == "python")
    tree = ast.parse(script)
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert "evil'.csv" in strings
    # The names are inside one formula literal, which reads back to the same columns.
    formula = next(s for s in strings if isinstance(s, str) and "~" in s)
    spec = parse_formula(formula)
    assert spec.outcome == HOSTILE_Y
    assert spec.fixed == (HOSTILE_X,) and spec.random[0].group == (HOSTILE_G,)
