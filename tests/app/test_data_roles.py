"""Data page: roles set next to the preview; why a column is not offered; missing markers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import plain

PAGE = "pages/1_Data.py"


def _teacher_csv() -> bytes:
    """The teacher's file: an integer age of 14-17, "Résultat final" with "." for missing,
    a comments column."""
    rng = np.random.default_rng(3)
    n = 40
    result = np.round(rng.normal(12, 3, n), 1).astype(object)
    result[[2, 9]] = "."
    frame = pd.DataFrame(
        {
            "classe": np.repeat(["3A", "3B", "3C", "3D"], n // 4),
            "Résultat final": result,
            "heures": np.round(rng.uniform(0, 10, n), 1),
            "commentaires": rng.choice(["bien", "assez bien", "à revoir"], n),
            "age": rng.integers(14, 18, n),
        }
    )
    return frame.to_csv(index=False).encode()


def _upload(open_page):
    at = open_page(PAGE)
    at.file_uploader(key="_upload_widget").upload("classe.csv", _teacher_csv()).run()
    assert not at.exception
    return at


def test_teacher_upload_guesses_the_result_and_explains_the_rest(open_page):
    at = _upload(open_page)
    assert at.sidebar.selectbox(key="y").value == "Résultat final"
    assert at.sidebar.selectbox(key="group").value == "classe"
    assert "Résultat final" in at.sidebar.selectbox(key="y").options
    assert at.selectbox(key="_data_outcome").value == "Résultat final"
    infos = [plain(i.value) for i in at.info]
    assert any("Résultat final**: 2 cells marked '.' were read as missing" in i for i in infos)
    reasons = plain(next(m.value for m in at.markdown if "Not offered" in m.value))
    assert "'commentaires' is text (for example '" in reasons
    assert "so it cannot be the outcome" in reasons
    assert "commentaires" not in at.sidebar.selectbox(key="y").options


def test_roles_set_on_the_data_page_reach_the_sidebar(open_page):
    at = _upload(open_page)
    at.selectbox(key="_data_outcome").set_value("heures").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="y").value == "heures"
    assert at.selectbox(key="_data_outcome").value == "heures"
    assert "heures" not in at.selectbox(key="_data_predictor").options
    at.selectbox(key="_data_group").set_value("commentaires").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="group").value == "commentaires"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Groups"] == "3"


def test_bundled_data_name_their_text_columns(open_page):
    at = open_page(PAGE)
    assert not at.exception
    reasons = plain(next(m.value for m in at.markdown if "Not offered" in m.value))
    assert reasons.endswith(
        "- 'school' is text (for example 'Hillcrest'), so it cannot be the outcome."
    )
    assert at.selectbox(key="_data_predictor").value == "study_time"
    assert not any("read as missing" in i.value for i in at.info)
