"""The Compare page with a binomial family (issue 16): the four mixed models fitted with
glmer and compared by the one rule, with lib's numbers."""

from __future__ import annotations

from conftest import frame_with, labelled, plain

from lib.classroom.comparison import compare_glmm_specs
from lib.model.response import ResponseFamily
from lib.table.catalogue import load_bundled
from ui.views.compare import MIXED_MODELS, mixed_specs

PAGE = "pages/4_Compare.py"


def test_compare_page_compares_the_four_glmms_with_lib_numbers(open_page):
    at = open_page(PAGE, {"data": "contraception"})
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "binomial"
    specs = mixed_specs("use", "age", "district", reml=False)
    result = compare_glmm_specs(load_bundled("contraception"), specs, ResponseFamily("binomial"))
    criteria = labelled(frame_with(at, "AIC (ML)"))
    assert len(criteria) == 4
    for k, name in enumerate(MIXED_MODELS):
        model = result.model(name)
        assert criteria.iloc[k]["AIC (ML)"] == f"{model.aic:,.1f}"
        assert criteria.iloc[k]["npar"] == str(model.npar)
    tests = labelled(frame_with(at, "Pr(>Chisq)"))
    full = result.model(MIXED_MODELS[3])
    assert tests.loc["4 vs 2", "Chisq"] == f"{full.chisq:.2f}"
    code = " ".join(c.value for c in at.code)
    assert "# 4 Random intercept and slope\nuse ~ 1 + age + (1 + age | district)" in code
    words = " ".join(plain(m.value) for m in at.markdown)
    assert "binomial mixed model fitted by maximum likelihood (Laplace)" in words
    # No linear strategies for a 0/1 outcome, and no "this page does not fit" message.
    assert not [t for t in at.tabs if t.label == "1 Simple regression"]
    assert not [i for i in at.info if "does not fit" in plain(i.value)]
