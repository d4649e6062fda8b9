"""The Ladder with a binomial family follows the Model page's nAGQ as the Compare page
does (one rule, ``lib.classroom.glmm_nagq``): for the same four models the two pages
show the same AIC, BIC, npar and chi-square, lib's, and the same sentence about the
Laplace fits; Laplace stays the default."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import frame_with, labelled, plain

from lib.classroom.comparison import Comparison, compare_glmm_specs
from lib.classroom.glmm_nagq import used_nagq
from lib.classroom.ladder import FULL, MIXED, NULL, RI, ladder_specs
from lib.model.response import ResponseFamily
from lib.serve.fit_pool import FitPool
from lib.table.catalogue import load_bundled
from ui import glmm_cache

LADDER, COMPARE, MODEL = "pages/6_Ladder.py", "pages/4_Compare.py", "pages/3_Model.py"
BINOMIAL = ResponseFamily("binomial")
SPECS = ladder_specs("use", "age", "district", reml=False)


def _lib(nagq: int) -> Comparison:
    return compare_glmm_specs(load_bundled("contraception"), SPECS, BINOMIAL, nagq)


def _criteria(at) -> pd.DataFrame:
    return labelled(frame_with(at, "AIC (ML)"))


def _tests(at) -> pd.DataFrame:
    return labelled(frame_with(at, "Chisq"))


def _captions(at) -> str:
    return " ".join(plain(c.value) for c in at.caption)


def _shown_aics(at) -> list[str]:
    return _criteria(at)["AIC (ML)"].tolist()


def _lib_aics(result: Comparison) -> list[str]:
    return [f"{result.model(name).aic:,.1f}" for name in MIXED]


@pytest.fixture(scope="module")
def nagq9() -> Comparison:
    return _lib(9)


@pytest.fixture
def submitted(monkeypatch) -> list[object]:
    """The keys of the jobs sent to the fit pool."""
    keys: list[object] = []
    submit = FitPool.submit

    def counting(self, job, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        keys.append(kwargs.get("key"))
        return submit(self, job, *args, **kwargs)

    monkeypatch.setattr(FitPool, "submit", counting)
    return keys


def test_the_nagq9_ladder_is_one_pool_job_the_compare_page_reuses(open_page, submitted):
    glmm_cache.clear()
    at = open_page(LADDER, {"data": "contraception", "nagq": "9"})
    assert not at.exception
    # The submits of one job share its key (wait_for asks again once the job is done, and
    # the pool joins the finished job of that key: single flight).
    jobs = {key for key in submitted if key[0] == "glmm_compare"}
    assert len(jobs) == 1
    _, source, specs, family, nagq = next(iter(jobs))
    assert (source, specs, nagq) == ("bundled:contraception", tuple(SPECS.items()), 9)
    assert family.family == "binomial" and family.success == "Y"
    asked = len(submitted)
    at.run()  # a warm rerun is a cache hit: the pool is not asked again
    assert len(submitted) == asked
    # The Compare page fits the same four models with the same nAGQ: the same cached job.
    compare = open_page(COMPARE, {"data": "contraception", "nagq": "9"})
    assert not compare.exception
    assert [key for key in submitted[asked:] if key[0] == "glmm_compare"] == []


def test_ladder_and_compare_show_the_same_nagq9_numbers_as_lib(open_page, nagq9):
    ladder = open_page(LADDER, {"data": "contraception", "nagq": "9"})
    compare = open_page(COMPARE, {"data": "contraception", "nagq": "9"})
    assert not ladder.exception and not compare.exception
    assert ladder.query_params["nagq"] == "9"  # kept in the Ladder's link
    # The same tables on both pages: npar, AIC, BIC per model; chi-square, Df, p per pair.
    pd.testing.assert_frame_equal(_criteria(ladder), _criteria(compare))
    pd.testing.assert_frame_equal(_tests(ladder), _tests(compare))
    # ... and they are lib's numbers with nAGQ = 9 (tests/test_glmm_compare_nagq.py: lme4's).
    assert _shown_aics(ladder) == _lib_aics(nagq9)
    assert _shown_aics(ladder)[:3] != _lib_aics(_lib(1))[:3]  # not Laplace's
    tests = _tests(ladder)
    assert tests.loc["2 vs 1", "Chisq"] == f"{nagq9.model(RI).chisq:.2f}"
    assert tests.loc["4 vs 2", "Chisq"] == f"{nagq9.model(FULL).chisq:.2f}"
    # logLik is in the CSV only; the AIC shown is lib's -2 logLik + 2 npar.
    for name, row in zip(MIXED, _criteria(ladder).itertuples(), strict=True):
        model = nagq9.model(name)
        assert row[2] == f"{-2 * model.loglik + 2 * model.npar:,.1f}"
    assert nagq9.model(NULL).loglik == pytest.approx(-1267.0499489659, rel=1e-6)
    # One sentence about the Laplace fit, the same on both pages.
    note = used_nagq(9, BINOMIAL, SPECS)[1]
    assert note is not None and note.startswith("Random intercept and slope has more than")
    assert note in _captions(ladder) and note in _captions(compare)
    assert (
        "fitted by maximum likelihood (adaptive Gauss-Hermite quadrature, nAGQ = 9, where "
        "glmer allows it), as glmer"
    ) in _captions(ladder)


def test_the_model_pages_nagq_carries_over_to_the_ladder(open_page, nagq9):
    at = open_page(MODEL, {"data": "contraception"})
    at.selectbox(key="nagq").set_value(9).run()
    at.switch_page(LADDER).run()
    assert not at.exception
    assert at.query_params["nagq"] == "9"
    assert _shown_aics(at) == _lib_aics(nagq9)


def test_laplace_stays_the_ladders_default(open_page):
    at = open_page(LADDER, {"data": "contraception"})
    assert not at.exception
    assert "nagq" not in at.query_params
    assert _shown_aics(at) == _lib_aics(_lib(1))
    captions = _captions(at)
    assert "fitted by maximum likelihood (Laplace), as glmer" in captions
    assert "Laplace fit (glmer allows" not in captions


def test_nagq_zero_gives_laplace_fits_with_the_compare_pages_sentence(open_page):
    at = open_page(LADDER, {"data": "contraception", "nagq": "0"})
    assert not at.exception
    assert _shown_aics(at) == _lib_aics(_lib(1))
    assert used_nagq(0, BINOMIAL, SPECS)[1] in _captions(at)


def test_the_lessons_comparison_step_follows_the_same_nagq(open_page, nagq9):
    """Step 9 of the Lesson fits and compares the same four models by the same rule: with
    ``nagq=9`` its table is the Ladder's, with the same sentence about the Laplace fit."""
    lesson = open_page("pages/8_Lesson.py", {"data": "contraception", "nagq": "9", "step": "9"})
    ladder = open_page(LADDER, {"data": "contraception", "nagq": "9"})
    assert not lesson.exception and not ladder.exception
    pd.testing.assert_frame_equal(_criteria(lesson), _criteria(ladder))
    pd.testing.assert_frame_equal(_tests(lesson), _tests(ladder))
    assert _shown_aics(lesson) == _lib_aics(nagq9)
    assert used_nagq(9, BINOMIAL, SPECS)[1] in _captions(lesson)
