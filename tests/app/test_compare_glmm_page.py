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


def _aics(at) -> list[str]:
    return labelled(frame_with(at, "AIC (ML)"))["AIC (ML)"].tolist()


def _lib_aics(nagq: int) -> list[str]:
    specs = mixed_specs("use", "age", "district", reml=False)
    data = load_bundled("contraception")
    result = compare_glmm_specs(data, specs, ResponseFamily("binomial"), nagq)
    return [f"{result.model(name).aic:,.1f}" for name in MIXED_MODELS]


def test_the_model_pages_nagq_applies_where_glmer_allows_it(open_page):
    at = open_page("pages/3_Model.py", {"data": "contraception"})
    at.selectbox(key="nagq").set_value(9).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.query_params["nagq"] == "9"  # carried over, and kept in this page's link
    words = " ".join(plain(m.value) for m in at.markdown)
    assert "(adaptive Gauss-Hermite quadrature, nAGQ = 9, where glmer allows it)" in words
    captions = " ".join(plain(c.value) for c in at.caption)
    assert (
        "Random intercept and slope has more than one random effect per group, so it is a "
        "Laplace fit (glmer allows nAGQ = 9 only for one)"
    ) in captions
    # lib's numbers with nAGQ = 9 (tests/test_glmm_compare_nagq.py: lme4's), not Laplace's.
    assert _aics(at) == _lib_aics(9)
    assert _aics(at)[:3] != _lib_aics(1)[:3]
    assert _aics(at)[3] == _lib_aics(1)[3]


def test_nagq_zero_compares_laplace_fits_and_says_so(open_page):
    at = open_page(PAGE, {"data": "contraception", "nagq": "0"})
    assert not at.exception
    assert _aics(at) == _lib_aics(1)
    captions = " ".join(plain(c.value) for c in at.caption)
    assert "nAGQ = 0 is a quick approximation, not a likelihood to test with" in captions
