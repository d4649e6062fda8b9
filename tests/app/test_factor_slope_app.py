"""A categorical column on the left of "|" typed in the Model page's formula box: glmer's
``(urban | district)`` on Contraception, whose panels must show lib's numbers and lme4's
effect names (``urbanY``)."""

from __future__ import annotations

from conftest import plain, whole_table

from lib.glmm.fit import fit_glmm
from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.table.catalogue import load_bundled

MODEL = "pages/3_Model.py"
FORMULA = "use ~ age + urban + (urban | district)"


def test_typed_categorical_random_slope_shows_lib_numbers(open_page):
    at = open_page(MODEL, {"data": "contraception", "family": "binomial"})
    assert not at.exception
    at.sidebar.text_area(key="_formula_text").set_value(FORMULA).run()
    assert not at.exception
    data = load_bundled("contraception")
    fit = fit_glmm(data, parse_formula(FORMULA), ResponseFamily("binomial"))
    assert at.sidebar.radio(key="family").value == "binomial"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["logLik"] == f"{fit.loglik:,.1f}"
    assert metrics["AIC"] == f"{fit.aic:,.1f}"
    fixef = whole_table(at, "z value")
    assert fixef["Estimate"].tolist() == [f"{b:.4f}" for b in fit.beta]
    assert fixef["Std. Error"].tolist() == [f"{s:.4f}" for s in fit.se]
    varcorr = whole_table(at, "Std.Dev.")
    (term,) = fit.varcorr
    assert term.names == ("(Intercept)", "urbanY")
    assert varcorr["Name"].tolist() == ["(Intercept)", "urbanY"]
    assert varcorr["Std.Dev."].tolist() == [f"{s:.4f}" for s in term.sd]
    assert varcorr["Corr"].tolist()[1] == f"{term.correlation[1, 0]:.4f}"
    code = " ".join(c.value for c in at.code)
    assert "(1 + urban | district), data = d, family = binomial)" in code
    notes = " ".join(plain(i.value) for i in at.sidebar.info)
    assert "terms the toggles cannot show: (1 + urban | district)" in notes
    assert not at.error
