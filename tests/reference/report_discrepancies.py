"""Print the worst engine-vs-lme4 discrepancy per quantity over the multilevel reference.

Run from the repository root: ``PYTHONPATH=. python tests/reference/report_discrepancies.py``
(it fits every case of multilevel_reference.json once; about a minute on a quiet
machine). Relative differences, except fixed effects (relative to max(|b|, SE)) and
conditional modes (relative to the largest |mode| of that effect).
"""

from __future__ import annotations

import numpy as np

from tests.test_multilevel_reference import CRITERION_ONLY, _comparable, reference

worst: dict[str, tuple[float, str]] = {}


def note(quantity: str, value: float, case_id: str) -> None:
    if np.isfinite(value) and value > worst.get(quantity, (-1.0, ""))[0]:
        worst[quantity] = (float(value), case_id)


def scan_case(case_id: str) -> None:
    case, fit = _comparable(case_id)
    r = case["result"]
    best = float(r.get("criterion_best", r["criterion"]))
    note("criterion (vs lme4's best optimizer)", abs(fit.criterion - best) / abs(best), case_id)
    if case_id in CRITERION_ONLY:
        return
    names = list(fit.fixef_names)
    for i, k in enumerate(names):
        b, se = float(r["fixef"][k]), float(r["fixef_se"][k])
        note("fixed effects", abs(fit.beta[i] - b) / max(abs(b), se), case_id)
        note("standard errors", abs(fit.beta_se[i] / se - 1), case_id)
        if r.get("fixef_df") and r["fixef_df"].get(k) is not None:
            note("Satterthwaite df", abs(fit.beta_df[i] / float(r["fixef_df"][k]) - 1), case_id)
    for block in r["varcorr"]["terms"]:
        factor = block.get("grouping_factor", block["group"])
        for name, value in block["variances"].items():
            term = next(t for t in fit.varcorr.terms if t.group == factor and name in t.names)
            mine = term.variances[list(term.names).index(name)]
            if float(value) > 1e-6:
                note("variance components", abs(mine / float(value) - 1), case_id)
    for fac in fit.ranef:
        for k, name in enumerate(fac.names):
            modes = np.array([float(r["ranef"][fac.group][lev][name]) for lev in fac.levels])
            scale = max(float(np.max(np.abs(modes))), 1e-12)
            note(
                "conditional modes", float(np.max(np.abs(fac.modes[:, k] - modes))) / scale, case_id
            )
            cv = np.array([float(r["ranef_condvar"][fac.group][lev][name]) for lev in fac.levels])
            rel = np.abs(fac.condvar[:, k, k] / np.where(cv > 0, cv, 1.0) - 1.0) * (cv > 1e-12)
            note("conditional variances", float(np.max(rel)), case_id)


if __name__ == "__main__":
    for case in reference()["cases"]:
        scan_case(case["id"])
    for quantity, (value, case_id) in worst.items():
        print(f"{quantity}: {value:.2e} ({case_id})")
