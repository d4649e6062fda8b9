"""Lesson page with a binomial or Poisson family (issue 16): all nine steps walk without an
error, each step's numbers are lib's (glm for steps 2-4, glmer for 5-8) and step 9's
comparison is the Ladder's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import plain, whole_table

from lib.classroom import lesson_glmm
from lib.classroom.comparison import compare_glmm_specs
from lib.classroom.ladder import ladder_specs
from lib.glmm.fit import fit_glmm
from lib.glmm.variance import latent_variances
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.ols.glm import fit_glm, fit_glm_per_group
from lib.table.catalogue import load_bundled
from lib.table.read import load_table

PAGE, LADDER = "pages/8_Lesson.py", "pages/6_Ladder.py"
CONTRACEPTION = {"data": "contraception", "family": "binomial"}
BINOMIAL = ResponseFamily("binomial", success="Y")
OWLS = Path(__file__).resolve().parents[1] / "reference" / "data" / "glmm_owls.csv"
COUNTS = ResponseFamily("poisson", offset="log_brood")


def _owls_csv() -> bytes:
    frame = pd.read_csv(OWLS)
    frame["log_brood"] = np.log(frame["BroodSize"])
    return frame.to_csv(index=False).encode()


def _title(at) -> str:
    return at.title[0].value


def _look(at) -> str:
    """The step's "what to look at" text, without Markdown's bold and escapes."""
    text = next(m.value for m in at.markdown if "What to look at" in m.value)
    return plain(text).replace("**", "")


def _next(at):
    return next(b for b in at.button if b.key == "_lesson_next_top").click().run()


def _estimates(values) -> list[str]:
    return [f"{v:,.4f}" for v in values]


def _walk(at, family: ResponseFamily) -> dict[int, str]:
    """Click Next through all nine steps; each step's "what to look at" text."""
    texts = {}
    for step in lesson_glmm.steps(family):
        assert not at.exception, step
        assert not any(e.value for e in at.error), (step, [e.value for e in at.error])
        assert _title(at) == f"Step {step.number} of 9: {step.title}"
        assert at.query_params["step"] in (str(step.number), [str(step.number)])
        texts[step.number] = _look(at)
        if step.number < 9:
            at = _next(at)
    return texts


def test_binomial_lesson_walks_all_nine_steps(open_page):
    at = open_page(PAGE, CONTRACEPTION)
    assert not at.info or not any("covers the tutorial's linear" in i.value for i in at.info)
    texts = _walk(at, BINOMIAL)
    assert "use = Y runs from 0.000 (district 11" in texts[1]
    assert "4 of 60 groups cannot be fitted" in texts[4] and "one reason to pool" in texts[4]
    assert "π²/3 = 3.290" in texts[5]
    assert "Random intercept" in texts[9]


def test_glm_steps_show_lib_glm_numbers(open_page):
    data = load_bundled("contraception")
    at = open_page(PAGE, {**CONTRACEPTION, "step": "2"})
    assert not at.exception and _title(at) == "Step 2 of 9: One logistic regression"
    fit = fit_glm(data, "use", ["age"], BINOMIAL)
    table = whole_table(at, "z value")
    assert table["Estimate"].tolist() == _estimates(fit.coef)
    assert table["Std. Error"].tolist() == _estimates(fit.se)
    assert table["Odds ratio"].tolist() == _estimates(np.exp(fit.coef))
    assert {m.label: m.value for m in at.metric}["Deviance"] == f"{fit.deviance:,.1f}"
    assert "glm(use ~ age, data = d, family = binomial)" in [c.value for c in at.code]

    at = _next(at)  # step 3: the dummy model, three districts with an infinite dummy
    dummy = fit_glm(data, "use", ["age"], BINOMIAL, group="district")
    table = whole_table(at, "Odds ratio")
    assert "z value" not in table.columns  # 61 rows: z and p only in the CSV
    assert table.loc["age", "Estimate"] == f"{dummy.coefficient('age'):.4f}"
    assert table.loc["district11", "Estimate"] == "-Inf"
    assert table.loc["district3", "Estimate"] == "Inf"
    assert f"drops from {fit.deviance:,.1f} to {dummy.deviance:,.1f}" in _look(at)

    at = _next(at)  # step 4: one regression per district
    per_group = fit_glm_per_group(data, "use", "age", "district", BINOMIAL)
    table = whole_table(at, "odds ratio")
    k = per_group.levels.index("1")
    assert table.loc["1", "age"] == f"{per_group.slopes()[k]:.4f}"
    assert table.loc["1", "odds ratio"] == f"{np.exp(per_group.slopes()[k]):.4f}"
    assert table.loc["55", "age"] in ("", "None", "nan")  # no regression of its own
    captions = " ".join(plain(c.value) for c in at.caption)
    assert "11, 49: all 0; 55: separated by the predictor" in captions


def test_mixed_steps_show_lib_glmer_numbers(open_page):
    data = load_bundled("contraception")
    at = open_page(PAGE, {**CONTRACEPTION, "step": "5"})
    assert not at.exception and _title(at) == "Step 5 of 9: Null model and ICC"
    spec = ModelSpec.one_factor("use", "district", reml=False)
    null = fit_glmm(data, spec, BINOMIAL)
    icc = latent_variances(null, data, spec, BINOMIAL).icc_adjusted
    assert whole_table(at, "ICC (adjusted)").iloc[:, 0].tolist() == [f"{icc:.3f}"]
    assert f"= {icc:.3f}: {100 * icc:.1f}% of the latent variation" in _look(at)
    assert "glmer(use ~ 1 + (1 | district), data = d, family = binomial)" in [
        c.value for c in at.code
    ]
    at = _next(at)
    ri = fit_glmm(data, ModelSpec.one_factor("use", "district", fixed=("age",)), BINOMIAL)
    fixef = whole_table(at, "z value")
    assert fixef["Estimate"].tolist() == [f"{b:.4f}" for b in ri.beta]
    assert fixef["Std. Error"].tolist() == [f"{s:.4f}" for s in ri.se]
    assert {m.label: m.value for m in at.metric}["AIC"] == f"{ri.aic:,.1f}"


def test_comparison_step_equals_the_ladder(open_page):
    at = open_page(PAGE, {**CONTRACEPTION, "step": "9"})
    assert not at.exception
    lesson_table = whole_table(at, "AIC (ML)")
    ladder = open_page(LADDER, {"data": "contraception", "family": "binomial"})
    assert not ladder.exception
    assert lesson_table.equals(whole_table(ladder, "AIC (ML)"))
    assert whole_table(at, "Chisq").equals(whole_table(ladder, "Chisq"))
    data = load_bundled("contraception")
    result = compare_glmm_specs(data, ladder_specs("use", "age", "district", False), BINOMIAL)
    aic = {m.label: m.aic for m in result.models}
    rows = {label.split(" ", 1)[1]: row for label, row in lesson_table.iterrows()}
    assert rows["Random intercept"]["AIC (ML)"] == f"{aic['Random intercept']:,.1f}"


@pytest.fixture
def owls_lesson(open_page):
    at = open_page("pages/1_Data.py")
    at.file_uploader(key="_upload_widget").upload("owls.csv", _owls_csv()).run()
    at.sidebar.selectbox(key="y").set_value("SiblingNegotiation").run()
    at.sidebar.selectbox(key="group").set_value("Nest").run()
    at.sidebar.selectbox(key="x").set_value("ArrivalTime").run()
    at.sidebar.radio(key="family").set_value("poisson").run()
    at.sidebar.selectbox(key="offset").set_value("log_brood").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def test_poisson_lesson_with_an_offset_walks_all_nine_steps(owls_lesson):
    at = owls_lesson
    texts = _walk(at, COUNTS)
    data = load_table(_owls_csv(), "owls.csv")
    fit = fit_glm(data, "SiblingNegotiation", ["ArrivalTime"], COUNTS)
    b = fit.coefficient("ArrivalTime")
    assert "multiplies the expected rate of SiblingNegotiation" in texts[2]
    assert f"by {np.exp(b):.3f} (log slope {b:.4f}" in texts[2]
    spec = ModelSpec.one_factor("SiblingNegotiation", "Nest", reml=False)
    null = fit_glmm(data, spec, COUNTS)
    icc = latent_variances(null, data, spec, COUNTS).icc_adjusted
    assert "ln(1 + 1/μ)" in texts[5] and f"= {icc:.3f}:" in texts[5]
    assert "Random intercept" in texts[9]


def test_poisson_glm_step_shows_rate_ratios(owls_lesson):
    at = owls_lesson
    at = _next(at)
    assert _title(at) == "Step 2 of 9: One Poisson regression"
    data = load_table(_owls_csv(), "owls.csv")
    fit = fit_glm(data, "SiblingNegotiation", ["ArrivalTime"], COUNTS)
    table = whole_table(at, "z value")
    assert table["Estimate"].tolist() == _estimates(fit.coef)
    assert table["Rate ratio"].tolist() == _estimates(np.exp(fit.coef))
    code = " ".join(c.value for c in at.code)
    assert "glm(SiblingNegotiation ~ ArrivalTime + offset(log_brood), data = d, " in code


def test_steps_5_to_9_share_one_comparison_job_with_ladder_and_compare(monkeypatch):
    from conftest import open_app

    from lib.serve.fit_pool import FitPool
    from ui import glmm_cache

    glmm_cache.clear()
    jobs: list[str] = []
    submit = FitPool.submit

    def counting(self, job, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        jobs.append(kwargs["key"][0])
        return submit(self, job, *args, **kwargs)

    monkeypatch.setattr(FitPool, "submit", counting)
    at = open_app(PAGE, {**CONTRACEPTION, "step": "5"})
    assert not at.exception
    # Step 5 asks for the four models' comparison (a slow first call asks again while it
    # runs, joining the same job: FitPool.submit with the same key) ...
    assert "glmm_compare" in jobs
    asked = len(jobs)
    for _ in range(4):  # steps 6, 7, 8, 9
        at = _next(at)
    assert not at.exception and _title(at).startswith("Step 9 of 9")
    for page in (LADDER, "pages/4_Compare.py"):
        at.switch_page(page).run()
        assert not at.exception
    # ... and steps 6-9, the Ladder and Compare take their fits from it: no glmer fit or
    # comparison is asked for again; the only jobs are each step's ICC and R².
    later = jobs[asked:]
    assert [j for j in later if j != "glmm_variances"] == []
    assert later.count("glmm_variances") >= 3  # steps 6, 7 and 8
    assert "glmm" not in jobs


def test_presentation_mode_names_the_step(open_page):
    for step, question in (("3", "One baseline per group"), ("5", "How much of the variation")):
        at = open_page(PAGE, {**CONTRACEPTION, "step": step, "present": "1"})
        assert not at.exception and not any(e.value for e in at.error)
        assert any(m.value.startswith(f"**Lesson** · {question}") for m in at.markdown)
        assert "What to look at" in _look(at)


def test_successes_out_of_trials_and_data_without_a_predictor(open_page):
    cbpp = Path(__file__).resolve().parents[1] / "reference" / "data" / "glmm_cbpp.csv"
    at = open_page("pages/1_Data.py")
    at.file_uploader(key="_upload_widget").upload("cbpp.csv", cbpp.read_bytes()).run()
    for key, value in (("y", "incidence"), ("group", "herd"), ("x", "period")):
        at.sidebar.selectbox(key=key).set_value(value).run()
    at.sidebar.radio(key="family").set_value("binomial").run()
    at.sidebar.selectbox(key="trials").set_value("size").run()
    at.switch_page(PAGE).run()
    trials = ResponseFamily("binomial", trials="size")
    texts = _walk(at, trials)
    fit = fit_glm(load_table(cbpp.read_bytes(), "cbpp.csv"), "incidence", ["period"], trials)
    assert (
        f"the odds of a success (incidence out of size) by {np.exp(fit.coef[1]):.3f}" in (texts[2])
    )
    assert "8 (one row); 9, 14 (period separates the outcomes)" in texts[4]
    # A 0/1 outcome and no numeric column: steps 1 and 5 fit, the others say what they need.
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"klass": np.repeat(list("abcdefgh"), 10), "pass": rng.integers(0, 2, 80)})
    at = open_page("pages/1_Data.py")
    at.file_uploader(key="_upload_widget").upload("p.csv", frame.to_csv(index=False).encode())
    at.run()
    assert at.sidebar.radio(key="family").value == "binomial"
    at.switch_page(PAGE).run()
    for step in lesson_glmm.steps(BINOMIAL):
        assert not at.exception and not any(e.value for e in at.error), step
        needs = any("needs a numeric predictor" in i.value for i in at.info)
        assert needs == step.needs_predictor, step
        if step.number < 9:
            at = _next(at)
