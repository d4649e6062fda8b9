"""The multilevel reference files agree with each other (pure pandas, no engine, no R).

``tests/reference/multilevel_reference.json`` was produced by
``tests/reference/make_multilevel_reference.R`` from the CSV files it names.  These
tests check that the committed data files are the ones the numbers came from (md5,
shape, columns) and that what the JSON says about each fit -- number of observations,
number of levels per grouping factor, level labels of interaction terms -- follows from
the data and the spec alone.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import math
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference" / "multilevel_reference.json"

SPEC_KEYS = {"outcome", "fixed", "random", "method"}
TERM_KEYS = {"group", "intercept", "slopes", "correlated"}


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@cache
def frame(path: str) -> pd.DataFrame:
    return pd.read_csv(ROOT / path)


def cases() -> list[dict]:
    return reference()["cases"]


def case_ids() -> list[str]:
    return [c["id"] for c in cases()]


def group_name(term: dict) -> str:
    return ":".join(term["group"])


def model_columns(spec: dict) -> list[str]:
    cols = [spec["outcome"], *spec["fixed"]]
    for t in spec["random"]:
        cols += [*t["group"], *t["slopes"]]
    return list(dict.fromkeys(cols))


def complete_rows(df: pd.DataFrame, spec: dict) -> pd.DataFrame:
    return df.loc[df[model_columns(spec)].notna().all(axis=1)]


def levels(df: pd.DataFrame, term: dict) -> pd.Series:
    """Interaction labels: values joined with ':' in the spec's order (lme4's naming)."""
    parts = [df[c].astype(str) for c in term["group"]]
    out = parts[0]
    for p in parts[1:]:
        out = out + ":" + p
    return out


def formula_from_spec(spec: dict) -> str:
    fixed = " + ".join(["1", *spec["fixed"]])
    random = []
    for t in spec["random"]:
        g = group_name(t)
        s = t["slopes"]
        if t["correlated"] or not s or (not t["intercept"] and len(s) == 1):
            random.append(f"({' + '.join(['1' if t['intercept'] else '0', *s])} | {g})")
        else:
            if t["intercept"]:
                random.append(f"(1 | {g})")
            random += [f"(0 + {x} | {g})" for x in s]
    return f"{spec['outcome']} ~ {' + '.join([fixed, *random])}"


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ data files --


def test_top_level_layout():
    ref = reference()
    assert {"generated_by", "settings", "datasets", "cases", "anova"} <= set(ref)
    assert "lme4" in ref["generated_by"] and "lmerTest" in ref["generated_by"]
    assert len(case_ids()) == len(set(case_ids()))


@pytest.mark.parametrize("ds", reference()["datasets"], ids=lambda d: d["path"])
def test_dataset_file_matches_json(ds):
    path = ROOT / ds["path"]
    assert path.exists(), ds["path"]
    assert md5(path) == ds["md5"], f"{ds['path']} changed since the reference was generated"
    if ds["path"].endswith(".gz"):
        assert hashlib.md5(gzip.decompress(path.read_bytes())).hexdigest() == ds["md5_uncompressed"]
    df = frame(ds["path"])
    assert len(df) == ds["nrow"]
    assert list(df.columns) == ds["columns"]


def test_every_case_uses_a_registered_dataset():
    paths = {d["path"] for d in reference()["datasets"]}
    for c in cases():
        assert c["data"] in paths, c["id"]
    for a in reference()["anova"]:
        assert a["data"] in paths, a["id"]


# ----------------------------------------------------------------------- cases --


@pytest.mark.parametrize("case_id", case_ids())
def test_case_spec_and_formula(case_id):
    case = next(c for c in cases() if c["id"] == case_id)
    spec = case["spec"]
    assert set(spec) == SPEC_KEYS
    assert spec["method"] in ("REML", "ML")
    assert case["result"]["method"] == spec["method"]
    for t in spec["random"]:
        assert set(t) == TERM_KEYS
        assert isinstance(t["group"], list) and t["group"]
    assert case["formula"] == formula_from_spec(spec)
    df = frame(case["data"])
    missing = set(model_columns(spec)) - set(df.columns)
    assert not missing, missing


@pytest.mark.parametrize("case_id", case_ids())
def test_case_counts_follow_from_data(case_id):
    case = next(c for c in cases() if c["id"] == case_id)
    spec, res = case["spec"], case["result"]
    df = complete_rows(frame(case["data"]), spec)
    assert res["nobs"] == len(df)
    # one ngroups entry per distinct grouping factor, named like lme4 ("class:school")
    names = list(dict.fromkeys(group_name(t) for t in spec["random"]))
    assert set(res["ngroups"]) == set(names)
    for t in spec["random"]:
        lev = levels(df, t)
        name = group_name(t)
        assert res["ngroups"][name] == lev.nunique(), name
        # ranef / condvar keyed by grouping factor, then by the level label
        assert set(res["ranef"][name]) == set(lev.unique()), name
        assert set(res["ranef_condvar"][name]) == set(lev.unique()), name
        expected_terms = (["(Intercept)"] if t["intercept"] else []) + t["slopes"]
        some_level = next(iter(res["ranef"][name].values()))
        assert set(expected_terms) <= set(some_level)


@pytest.mark.parametrize("case_id", case_ids())
def test_case_internal_consistency(case_id):
    case = next(c for c in cases() if c["id"] == case_id)
    spec, res = case["spec"], case["result"]
    # varcorr terms map to spec terms; lme4 splits uncorrelated terms into g, g.1, ...
    for vt in res["varcorr"]["terms"]:
        t = spec["random"][vt["spec_term"]]
        assert vt["grouping_factor"] == group_name(t)
        assert set(vt["names"]) <= {"(Intercept)", *t["slopes"]}
    n_theta = sum(
        (lambda q: q * (q + 1) // 2)(len(t["slopes"]) + t["intercept"])
        if t["correlated"]
        else len(t["slopes"]) + t["intercept"]
        for t in spec["random"]
    )
    assert len(res["theta"]) == n_theta == len(res["theta_names"])
    assert res["npar"] == len(res["fixef"]) + n_theta + 1
    assert math.isclose(res["loglik"], -res["criterion"] / 2, rel_tol=1e-12)
    assert math.isclose(res["aic"], res["criterion"] + 2 * res["npar"], rel_tol=1e-12)
    assert math.isclose(res["sigma"] ** 2, res["varcorr"]["residual_variance"], rel_tol=1e-12)
    assert res["criterion_best"] <= res["criterion"]
    assert list(res["fixef"]) == list(res["fixef_se"]) == list(res["fixef_t"])
    assert len(res["fixef_corr"]) == len(res["fixef"])
    q = res["scaled_resid_quantiles"]
    assert len(q) == 5 and q == sorted(q)


# ------------------------------------------------------------------- anova --


@pytest.mark.parametrize("table", reference()["anova"], ids=lambda a: a["id"])
def test_anova_rows(table):
    assert len(table["table"]) == len(table["specs"])
    assert sorted(r["spec_index"] for r in table["table"]) == list(range(len(table["specs"])))
    nobs = {len(complete_rows(frame(table["data"]), s)) for s in table["specs"]}
    assert len(nobs) == 1, "compared models must use the same rows"
    npars = [r["npar"] for r in table["table"]]
    assert npars == sorted(npars)
    first = table["table"][0]
    assert first["chisq"] is None and first["df"] is None and first["p"] is None
    for r in table["table"]:
        assert r["formula"] == formula_from_spec(table["specs"][r["spec_index"]])


# ------------------------------------------------------------- specific data --


def test_pupils_class_labels_repeat_and_class_id_is_unique():
    df = frame("data/pupils.csv")
    assert list(df.columns) == [
        "school", "class", "class_id", "pupil", "ses", "hours", "sex", "score",
    ]  # fmt: skip
    assert df["pupil"].is_unique
    assert df["school"].nunique() == 30
    assert df.groupby("school")["class"].nunique().between(4, 6).all()
    assert df.groupby("class_id").size().between(10, 30).all()
    # class "A" exists in every school: the labels repeat (the pitfall)
    assert df.groupby("class")["school"].nunique().max() == 30
    assert (df["class_id"] == df["school"] + "-" + df["class"]).all()
    assert df["class_id"].nunique() == (df["class"] + ":" + df["school"]).nunique()
    assert set(df["sex"]) == {"F", "M"}


def test_pupils_csv_is_what_make_pupils_writes():
    spec = importlib.util.spec_from_file_location("make_pupils", ROOT / "data" / "make_pupils.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sim = mod.simulate()
    pd.testing.assert_frame_equal(frame("data/pupils.csv"), sim, check_exact=True)


def test_pupils_wrong_coding_pools_classes():
    res = {c["id"]: c["result"] for c in cases()}
    assert res["pupils_wrong_reml"]["ngroups"]["class"] == 6
    assert res["pupils_ri_reml"]["ngroups"]["class:school"] == 151
    # class_id and class:school are the same grouping: same criterion
    a, b = res["pupils_ri_reml"], res["pupils_classid_reml"]
    assert math.isclose(a["criterion"], b["criterion"], rel_tol=1e-9)
    assert "B:S07" in a["ranef"]["class:school"]
    assert "S07:B" in res["pupils_schoolclass_order_reml"]["ranef"]["school:class"]


def test_real_data_shapes():
    pastes = frame("data/pastes.csv")
    assert pastes.shape == (60, 4) and pastes["batch"].nunique() == 10
    assert pastes["cask"].nunique() == 3 and pastes["sample"].nunique() == 30
    pen = frame("data/penicillin.csv")
    assert pen.shape == (144, 3)
    assert pen.groupby(["plate", "sample"]).size().eq(1).all()  # fully crossed, one per cell
    ie = frame("tests/reference/data/insteval.csv.gz")
    assert ie.shape == (73421, 5)
    assert (ie["s"].nunique(), ie["d"].nunique(), ie["dept"].nunique()) == (2972, 1128, 14)
    assert set(ie["service"]) == {0, 1}


def test_crossed_missing_has_na_rows():
    case = next(c for c in cases() if c["id"] == "crossed_missing_reml")
    df = frame(case["data"])
    assert df[["rt", "x"]].isna().any(axis=1).sum() > 0
    assert case["result"]["nobs"] < len(df)
    # about 30% of the subject x item cells are empty
    cells = df["subject"].nunique() * df["item"].nunique()
    assert 0.6 < len(df) / cells < 0.8


def test_illcond_reparametrisation_is_consistent():
    res = {c["id"]: c for c in cases()}
    raw, sc = res["illcond_raw_ml"]["result"], res["illcond_scaled_ml"]["result"]
    assert math.isclose(raw["criterion_best"], sc["criterion_best"], rel_tol=1e-12, abs_tol=1e-8)
    shift = res["illcond_raw_reml"]["reparametrisation"]["reml_shift"]
    assert math.isclose(shift, 2 * math.log(1e5), rel_tol=1e-12)
    raw_r, sc_r = res["illcond_raw_reml"]["result"], res["illcond_scaled_reml"]["result"]
    assert math.isclose(raw_r["criterion_best"] + shift, sc_r["criterion_best"], abs_tol=1e-6)
    df = frame(res["illcond_raw_reml"]["data"])
    assert (df["year_c"] - (df["year"] - 2000) / 10).abs().max() < 1e-12
