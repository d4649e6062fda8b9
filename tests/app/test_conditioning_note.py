"""Model page: the one-sentence note when columns were centred/scaled for the search."""

from __future__ import annotations

import numpy as np
from conftest import plain

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.present.notes import conditioning_note
from lib.table.read import load_table


def _years_csv() -> bytes:
    rng = np.random.default_rng(5)
    lines = ["firm,year,sales"]
    for g in range(8):
        u0, u1 = rng.normal(0, 2), rng.normal(0, 0.3)
        for t in range(12):
            y = 1e6 * (5 + u0 + (0.4 + u1) * t + rng.normal())
            lines.append(f"F{g},{2000 + t},{y:.1f}")
    return "\n".join(lines).encode()


def test_note_shown_when_conditioning_applied(open_page):
    from ui.state import UploadedTable

    content = _years_csv()
    at = open_page("pages/3_Model.py")
    at.session_state["_upload"] = UploadedTable.from_bytes("years.csv", content)
    at.run()
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    at.sidebar.selectbox(key="y").set_value("sales").run()
    at.sidebar.selectbox(key="x").set_value("year").run()
    at.sidebar.selectbox(key="group").set_value("firm").run()
    assert not at.exception
    spec = ModelSpec.one_factor("sales", "firm", fixed=("year",))
    fit = fit_lmm(load_table(content, "years.csv"), spec)
    note = conditioning_note(fit)
    assert note is not None and "year" in note and "original units" in note
    assert note in [plain(c.value) for c in at.caption]


def test_no_note_on_the_tutorial_data(open_page):
    at = open_page("pages/3_Model.py")
    assert not at.exception
    assert not any("well conditioned" in c.value for c in at.caption)
