"""A real download from the Model page: group labels that look like formulas are
neutralised in the bytes the browser receives, numbers stay numbers."""

from __future__ import annotations

import csv
import io
import zipfile

import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

PAGE = "pages/3_Model.py"
EVIL = "=cmd|' /C calc'!A0"


class RecordingStorage(MemoryMediaFileStorage):
    instances: list[RecordingStorage] = []

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        RecordingStorage.instances.append(self)


class RecordingManager(MediaFileManager):
    instances: list[RecordingManager] = []

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        RecordingManager.instances.append(self)


def test_random_effects_download_is_neutralised(open_page, monkeypatch):
    from ui.state import UploadedTable

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)
    monkeypatch.setattr(app_test_module, "MediaFileManager", RecordingManager)
    labels = [EVIL, "@SUM(A1)", "-2+3", "plain", "+x"]
    rows = ["g,x,y"]
    for i in range(60):
        rows.append(f'"{labels[i % 5]}",{i % 7},{(i * 7) % 11 + (i % 5) * 3 - 20}')
    at = open_page(PAGE)
    at.session_state["_upload"] = UploadedTable.from_bytes("evil.csv", "\n".join(rows).encode())
    at.run()
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    assert not at.exception
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b.proto for b in at.get("download_button")}
    # The Model page's tables come as one ZIP of CSV files (ui.render.tables_in_one_download).
    assert not any(key.startswith("download_random_effects") for key in buttons)
    button = buttons["download_tables"]
    assert button.deferred_file_id and not button.url  # made on click, not on every run
    url = RecordingManager.instances[-1].execute_deferred(button.deferred_file_id)  # the click
    storage = RecordingStorage.instances[-1]
    archive = zipfile.ZipFile(io.BytesIO(storage.get_file(url.rsplit("/", 1)[-1]).content))
    names = archive.namelist()
    assert names[:3] == ["scaled_residuals.csv", "random_effects.csv", "fixed_effects.csv"]
    assert "random_effects_by_group.csv" in names and "confint-wald.csv" in names
    content = archive.read("random_effects_by_group.csv")
    table = list(csv.reader(io.StringIO(content.decode("utf-8"))))
    first_cells = [row[0] for row in table[1:]]
    assert "'" + EVIL in first_cells and "'@SUM(A1)" in first_cells
    assert "'-2+3" in first_cells and "'+x" in first_cells and "plain" in first_cells
    numbers = [cell for row in table[1:] for cell in row[1:] if cell != "(Intercept)"]
    for cell in numbers:
        float(cell)  # every number, negative ones included, is still a number
    assert any(cell.startswith("-") for cell in numbers)


def test_glmm_model_page_tables_come_as_one_zip(open_page, monkeypatch):
    """The generalized Model page collects its tables' CSV files as the linear one does: one
    ZIP button, no button under each table, and its fixed effects are glmer's unrounded."""
    from lib.glmm.fit import fit_glmm
    from lib.model.formula import parse_formula
    from lib.model.response import ResponseFamily
    from lib.table.catalogue import load_bundled

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", RecordingStorage)
    monkeypatch.setattr(app_test_module, "MediaFileManager", RecordingManager)
    at = open_page(PAGE, {"data": "contraception"})
    assert not at.exception
    buttons = {b.proto.id.rsplit("-", 1)[-1]: b.proto for b in at.get("download_button")}
    assert set(buttons) == {"download_glmm_report", "download_glmm_tables"}
    url = RecordingManager.instances[-1].execute_deferred(
        buttons["download_glmm_tables"].deferred_file_id
    )
    content = RecordingStorage.instances[-1].get_file(url.rsplit("/", 1)[-1]).content
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert {"glmm_fixed_effects.csv", "glmm_random_effects.csv"} <= set(archive.namelist())
    rows = list(csv.reader(io.StringIO(archive.read("glmm_fixed_effects.csv").decode())))
    spec = parse_formula(at.sidebar.text_area(key="_formula_text").value)
    fit = fit_glmm(load_bundled("contraception"), spec, ResponseFamily("binomial", success="Y"))
    shown = {row[0]: float(row[1]) for row in rows[1:]}
    for name, beta in zip(fit.fixef_names, fit.beta, strict=True):
        assert abs(shown[name] - beta) <= 1e-9 * max(1.0, abs(beta))
