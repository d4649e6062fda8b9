"""Generalized mixed models in the app (issue 16): the family is suggested from the outcome,
kept in the URL, and the Model, Explore and Pooling pages show glmer's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from conftest import frame_with, plain, whole_table

from lib.classroom.pooling_glmm import rate_pooling
from lib.glmm.fit import fit_glmm
from lib.glmm.intervals import profile_intervals
from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.table.catalogue import load_bundled
from lib.table.read import load_table

DATA, MODEL, EXPLORE, POOLING, LADDER = (
    "pages/1_Data.py",
    "pages/3_Model.py",
    "pages/2_Explore.py",
    "pages/5_Pooling.py",
    "pages/6_Ladder.py",
)
CONTRACEPTION = {"data": "contraception"}
CBPP = Path(__file__).resolve().parents[1] / "reference" / "data" / "glmm_cbpp.csv"


def _outcomes_csv() -> bytes:
    """40 pupils in 8 classes: a score, study hours, a 0/1 pass, a TRUE/FALSE passed, a
    count of errors and the log of the days they were observed."""
    rng = np.random.default_rng(7)
    n = 40
    hours = np.round(rng.uniform(0, 10, n), 1)
    score = np.round(40 + 3 * hours + rng.normal(0, 5, n), 1)
    frame = pd.DataFrame(
        {
            "class": np.repeat([f"c{k}" for k in range(8)], n // 8),
            "score": score,
            "hours": hours,
            "pass": (score > 55).astype(int),
            "passed": score > 55,
            "errors": rng.poisson(2.0, n),
            "log_days": np.log(rng.integers(5, 20, n)),
        }
    )
    return frame.to_csv(index=False).encode()


def _upload(open_page, page=DATA):
    at = open_page(page)
    at.file_uploader(key="_upload_widget").upload("pupils.csv", _outcomes_csv()).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="y").value == "score"
    assert at.sidebar.radio(key="family").value == "gaussian"
    return at


def _captions(at) -> str:
    return " ".join(plain(c.value) for c in at.sidebar.caption)


def test_a_zero_one_outcome_gets_the_binomial_family(open_page):
    at = _upload(open_page)
    at.sidebar.selectbox(key="y").set_value("pass").run()
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "binomial"
    assert "Binomial because `pass` has two values" in _captions(at)
    # A 0/1 outcome counts 1 as success: no level to choose, no trials column.
    assert not [s for s in at.sidebar.selectbox if s.key in ("success", "trials")]
    # The user can change it back.
    at.sidebar.radio(key="family").set_value("gaussian").run()
    assert not at.exception and at.sidebar.radio(key="family").value == "gaussian"


def test_a_true_false_outcome_is_offered_and_only_binomial(open_page):
    at = _upload(open_page)
    assert "passed" in at.sidebar.selectbox(key="y").options
    at.sidebar.selectbox(key="y").set_value("passed").run()
    assert not at.exception
    family = at.sidebar.radio(key="family")
    assert family.value == "binomial" and list(family.options) == ["Binomial"]
    success = at.sidebar.selectbox(key="success")
    assert success.value == "TRUE" and list(success.options) == ["FALSE", "TRUE"]
    box = " ".join(plain(m.value) for m in at.markdown)
    assert "`passed` has two values (FALSE and TRUE)" in box
    assert at.selectbox(key="_data_success").value == "TRUE"
    # The Model page fits it with TRUE as 1, as glmer counts a logical outcome.
    at.switch_page(MODEL).run()
    assert not at.exception
    data = load_table(_outcomes_csv(), "pupils.csv")
    fit = fit_glmm(
        data, parse_formula("passed ~ 1 + hours + (1 | class)"), ResponseFamily("binomial")
    )
    assert fit.outcome_levels.success == "TRUE"
    fixef = whole_table(at, "z value")
    assert fixef["Estimate"].tolist() == [f"{b:.4f}" for b in fit.beta]
    words = " ".join(plain(m.value) for m in at.markdown)
    assert "the odds that **passed** is **TRUE**" in words


def test_a_count_outcome_suggests_poisson_which_the_user_applies(open_page):
    at = _upload(open_page)
    at.sidebar.selectbox(key="y").set_value("errors").run()
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "gaussian"  # suggested, not imposed
    box = " ".join(plain(m.value) for m in at.markdown)
    assert "`errors` holds whole numbers from 0 up, mostly small" in box
    at.button(key="_data_use_family").click().run()
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "poisson"
    assert at.sidebar.selectbox(key="offset").value == ""
    assert at.query_params["family"] == "poisson"


def _contraception_fit(success=None):
    data = load_bundled("contraception")
    spec = parse_formula("use ~ age + (1 | district)")
    family = ResponseFamily("binomial", success=success)
    return data, spec, family, fit_glmm(data, spec, family)


def test_model_page_shows_the_glmer_numbers_of_lib(open_page):
    at = open_page(MODEL, CONTRACEPTION)
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "binomial"
    _, _, _, fit = _contraception_fit()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["AIC"] == f"{fit.aic:,.1f}"
    assert metrics["logLik"] == f"{fit.loglik:,.1f}"
    assert metrics["deviance"] == f"{fit.deviance:,.1f}"
    assert metrics["df.resid"] == f"{fit.df_resid:,}" == "1,931"
    fixef = whole_table(at, "z value")
    assert fixef["Estimate"].tolist() == [f"{b:.4f}" for b in fit.beta]
    assert fixef["Std. Error"].tolist() == [f"{s:.4f}" for s in fit.se]
    ratios = whole_table(at, "Odds ratio")
    assert ratios["Odds ratio"].tolist() == [f"{np.exp(b):.4f}" for b in fit.beta]
    varcorr = whole_table(at, "Std.Dev.")
    assert varcorr["Std.Dev."].tolist() == [f"{np.sqrt(fit.varcorr[0].covariance[0, 0]):.4f}"]
    code = " ".join(c.value for c in at.code)
    assert "glmer(use ~ 1 + age + (1 | district), data = d, family = binomial)" in code
    assert "from lib import glmer" in code  # the Python script fits the same model
    latex = " ".join(m.value for m in at.markdown if "$$" in m.value)  # one element
    assert r"\operatorname{logit}(\pi_{ij})" in latex and "Bernoulli" in latex
    assert r"\varepsilon" not in latex  # no residual term in a GLMM
    words = " ".join(plain(m.value) for m in at.markdown)
    # The sentences name the level glmer counted as 1 (Y), not "1".
    assert "the odds that **use** is **Y** are" in words
    assert "times as high for each extra unit of **age** (z = 1.59, p = 0.112)" in words
    icc = frame_with(at, "ICC (adjusted)")
    tau2 = fit.varcorr[0].covariance[0, 0]  # performance::icc for a logit model
    assert icc["ICC (adjusted)"].tolist() == [f"{tau2 / (tau2 + np.pi**2 / 3):.3f}"]


def test_url_round_trip_of_the_success_level(open_page):
    at = open_page(MODEL, {**CONTRACEPTION, "success": "N"})
    assert not at.exception
    assert at.sidebar.selectbox(key="success").value == "N"
    assert at.query_params["success"] == "N"
    _, _, _, fit = _contraception_fit("N")
    fixef = whole_table(at, "z value")
    assert fixef["Estimate"].tolist() == [f"{b:.4f}" for b in fit.beta]
    assert fit.beta[0] > 0  # "N" counted as success flips the intercept's sign
    # Choosing the default level again drops it from the URL.
    at.sidebar.selectbox(key="success").set_value("Y").run()
    assert "success" not in at.query_params


def test_an_old_link_without_family_is_gaussian(open_page):
    at = open_page(MODEL, {"data": "schools", "random_slope": "true"})
    assert not at.exception
    assert at.sidebar.radio(key="family").value == "gaussian"
    assert "family" not in at.query_params
    assert any("REML" in s.value for s in at.subheader)


def test_pooling_page_shows_proportions_raw_pooled_and_population(open_page):
    at = open_page(POOLING, CONTRACEPTION)
    assert not at.exception
    data, spec, family, fit = _contraception_fit()
    result = rate_pooling(data, spec, family, fit, "district")
    table = whole_table(at, "observed proportion")
    assert table.loc["3", "observed proportion"] == "1.0000"
    k = result.levels.index("3")
    assert table.loc["3", "model estimate"] == f"{result.partial[k]:.4f}"
    assert table.loc["3", "population"] == f"{result.population[k]:.4f}"
    # A district with 2 rows, both successes, is pulled far towards the population.
    assert result.population[k] < result.partial[k] < 0.5
    assert "moves most" in " ".join(plain(m.value) for m in at.markdown)


def test_explore_page_shows_proportions_per_group(open_page):
    at = open_page(EXPLORE, CONTRACEPTION)
    assert not at.exception
    table = whole_table(at, "proportion")
    data = load_bundled("contraception")
    share = data.assign(y=data["use"].eq("Y")).groupby("district")["y"].mean()
    assert table.loc["1", "proportion"] == f"{share.loc[1]:.4f}"
    assert table.loc["1", "successes"] == f"{int(data[data.district == 1].use.eq('Y').sum()):,}"
    assert any("Proportions per district" in s.value for s in at.subheader)


def test_ladder_fits_the_tutorial_models_with_glmer(open_page):
    at = open_page(LADDER, CONTRACEPTION)
    assert not at.exception
    criteria = whole_table(at, "AIC (ML)")
    data = load_bundled("contraception")
    family = ResponseFamily("binomial")
    ri = fit_glmm(data, parse_formula("use ~ 1 + age + (1 | district)"), family)
    null = fit_glmm(data, parse_formula("use ~ 1 + (1 | district)"), family)
    rows = {label.split(" ", 1)[1]: row for label, row in criteria.iterrows()}
    assert rows["Random intercept"]["AIC (ML)"] == f"{ri.aic:,.1f}"
    assert rows["Null model"]["AIC (ML)"] == f"{null.aic:,.1f}"
    tests = whole_table(at, "Chisq")
    chisq = 2 * (ri.loglik - null.loglik)
    assert tests.loc["2 vs 1", "Chisq"] == f"{chisq:.2f}"  # random intercept vs null
    assert tests.loc["2 vs 3", "Pr(>Chisq)"] == "not nested"
    code = " ".join(c.value for c in at.code)
    assert "use ~ 1 + age + (1 + age | district)" in code
    # No OLS rows: a linear fit of a 0/1 outcome has no likelihood on this scale.
    assert not any("OLS" in str(label) for label in criteria.index)


def test_lesson_follows_a_binomial_family(open_page):
    # The steps themselves: tests/app/test_lesson_glmm_page.py.
    at = open_page("pages/8_Lesson.py", {**CONTRACEPTION, "step": "2"})
    assert not at.exception
    assert at.title[0].value == "Step 2 of 9: One logistic regression"
    assert not any("covers the tutorial's linear models" in i.value for i in at.info)


def test_counts_with_an_offset_fit_a_poisson_model(open_page):
    at = _upload(open_page)
    at.sidebar.selectbox(key="y").set_value("errors").run()
    at.sidebar.radio(key="family").set_value("poisson").run()
    at.sidebar.selectbox(key="offset").set_value("log_days").run()
    at.switch_page(MODEL).run()
    assert not at.exception
    code = " ".join(c.value for c in at.code)
    assert "glmer(errors ~ 1 + hours + offset(log_days) + (1 | class), data = d, " in code
    data = load_table(_outcomes_csv(), "pupils.csv")
    fit = fit_glmm(
        data,
        parse_formula("errors ~ 1 + hours + (1 | class)"),
        ResponseFamily("poisson", offset="log_days"),
    )
    fixef = whole_table(at, "z value")
    assert fixef["Estimate"].tolist() == [f"{b:.4f}" for b in fit.beta]
    ratios = whole_table(at, "Rate ratio")
    assert ratios["Rate ratio"].tolist() == [f"{np.exp(b):.4f}" for b in fit.beta]
    assert any(s.value == "Dispersion" for s in at.subheader)
    assert {m.label: m.value for m in at.metric}["logLik"] == f"{fit.loglik:,.1f}"
    assert at.query_params["offset"] == "log_days"


def test_a_non_integer_count_gets_a_clear_message(open_page):
    at = _upload(open_page)  # outcome: score, with decimals
    at.sidebar.radio(key="family").set_value("poisson").run()
    at.switch_page(MODEL).run()
    assert not at.exception
    errors = " ".join(plain(e.value) for e in at.error)
    assert "The outcome 'score' of a Poisson model must be counts 0, 1, 2, ..." in errors


def test_successes_out_of_trials_take_the_trials_column(open_page):
    cbpp = CBPP.read_bytes()
    at = open_page(DATA)
    at.file_uploader(key="_upload_widget").upload("cbpp.csv", cbpp).run()
    at.sidebar.selectbox(key="y").set_value("incidence").run()
    at.sidebar.selectbox(key="group").set_value("herd").run()
    at.sidebar.selectbox(key="x").set_value("period").run()
    at.sidebar.radio(key="family").set_value("binomial").run()
    assert "size" in at.sidebar.selectbox(key="trials").options
    at.sidebar.selectbox(key="trials").set_value("size").run()
    at.switch_page(MODEL).run()
    assert not at.exception
    code = " ".join(c.value for c in at.code)
    assert "glmer(cbind(incidence, size - incidence) ~ 1 + period + (1 | herd)" in code
    fit = fit_glmm(
        load_table(cbpp, "cbpp.csv"),
        parse_formula("incidence ~ 1 + period + (1 | herd)"),
        ResponseFamily("binomial", trials="size"),
    )
    fixef = whole_table(at, "z value")
    assert fixef["Estimate"].tolist() == [f"{b:.4f}" for b in fit.beta]
    rates = whole_table(at, "observed proportion")
    assert "trials" in rates.columns
    assert at.query_params["trials"] == "size"


def test_a_large_upload_fits_a_glmm_to_its_sample_only_when_asked(open_page, monkeypatch):
    from lib.aggregate import upload as lib_upload

    monkeypatch.setenv(lib_upload.THRESHOLD_ENV, str(512 * 1024))
    monkeypatch.setattr(lib_upload, "SAMPLE_ROWS", 20_000)  # a sample smaller than the file
    rng = np.random.default_rng(5)
    n = 60_000
    school = rng.integers(0, 200, n)
    hours = np.round(rng.uniform(0, 10, n), 2)
    eta = -1 + 0.2 * hours + rng.normal(0, 0.5, 200)[school]
    frame = pd.DataFrame(
        {
            "school": np.char.add("s", school.astype(str)),
            "hours": hours,
            "score": np.round(rng.normal(50, 10, n), 2),
            "pass": (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int),
        }
    )
    at = open_page(DATA)
    at.file_uploader(key="_upload_widget").upload("big.csv", frame.to_csv(index=False).encode())
    at.run()
    at.sidebar.selectbox(key="y").set_value("pass").run()
    assert at.sidebar.radio(key="family").value == "binomial"
    at.switch_page(MODEL).run()
    assert not at.exception
    warning = " ".join(plain(w.value) for w in at.warning)
    assert "cannot be fitted by DuckDB" in warning
    assert not at.metric  # nothing is fitted before the user agrees
    box = at.checkbox(key="_glmm_fit_sample")
    sample = int("".join(ch for ch in box.label.split("sample of ")[1] if ch.isdigit()))
    assert sample == 20_000
    box.check().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Observations"] == f"{sample:,}"


def test_adaptive_quadrature_is_offered_for_one_random_intercept(open_page):
    at = open_page(MODEL, CONTRACEPTION)
    choice = at.selectbox(key="nagq")
    assert choice.value == 1
    choice.set_value(9).run()
    assert not at.exception
    data, spec, family, _ = _contraception_fit()
    fit = fit_glmm(data, spec, family, nagq=9)
    assert {m.label: m.value for m in at.metric}["logLik"] == f"{fit.loglik:,.1f}"
    fixef = whole_table(at, "z value")
    assert fixef["Std. Error"].tolist() == [f"{s:.4f}" for s in fit.se]
    assert any("nAGQ = 9" in c.value for c in at.code)
    # A random slope: glmer allows only the Laplace approximation, so no choice is offered.
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "nagq"]


def test_profile_intervals_on_demand_equal_lib(open_page):
    at = open_page(MODEL, CONTRACEPTION)
    assert not [d for d in at.dataframe if "conf.low" in d.value.columns]
    at.button(key="_glmm_profile_button").click().run()
    assert not at.exception
    data, spec, family, fit = _contraception_fit()
    rows = profile_intervals(fit, data, spec, family).rows
    shown = whole_table(at, "conf.low")
    assert shown.index.tolist() == ["(Intercept)", "age", "sd__(Intercept) (district)"]
    assert shown["conf.low"].tolist() == [f"{r.conf_low:.4f}" for r in rows]
    assert shown["conf.high"].tolist() == [f"{r.conf_high:.4f}" for r in rows]
