"""Data page: bundled sets, uploads (kept per session), roles, validation report."""

from __future__ import annotations

import pandas as pd
from conftest import open_app, plain

PAGE = "pages/1_Data.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_default_data_report(open_page):
    at = open_page(PAGE)
    assert not at.exception
    assert _metrics(at) == {"Rows": "183", "Rows used": "183", "Rows dropped": "0", "Groups": "3"}
    assert any("Only 3 groups" in w.value and "imprecise" in w.value for w in at.warning)
    assert at.sidebar.selectbox(key="y").value == "test_score"
    assert at.sidebar.selectbox(key="x").value == "study_time"
    assert at.sidebar.selectbox(key="group").value == "school"


def test_dropped_rows_are_counted_and_explained(open_page):
    at = open_page(PAGE, {"data": "dietox", "x": "Feed"})
    assert not at.exception
    assert _metrics(at)["Rows dropped"] == "72"
    assert any("Feed (72 rows)" in i.value for i in at.info)


def test_use_button_switches_data_and_roles(open_page):
    at = open_page(PAGE)
    at.button(key="_use_grunfeld").click().run()
    assert not at.exception
    assert at.sidebar.selectbox(key="data").value == "grunfeld"
    assert at.sidebar.selectbox(key="y").value == "invest"
    assert at.sidebar.selectbox(key="group").value == "firm"
    assert _metrics(at)["Groups"] == "11"


def test_uploaded_csv_becomes_the_active_data_set(open_page):
    frame = pd.DataFrame(
        {
            "class_id": ["a", "a", "a", "b", "b", "b", "c", "c", "c"],
            "age": [1.0, 2, 3, 1, 2, 3, 1, 2, 3],
            "score": [2.0, 3, 5, 3, 4, 6, 1, 2, 2],
        }
    )
    at = open_page(PAGE)
    at.file_uploader(key="_upload_widget").upload("mine.csv", frame.to_csv(index=False).encode())
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="data").value == "your upload"
    assert at.sidebar.selectbox(key="y").value == "score"
    assert at.sidebar.selectbox(key="x").value == "age"
    assert at.sidebar.selectbox(key="group").value == "class_id"
    assert _metrics(at)["Rows"] == "9"
    assert at.session_state["_upload"].name == "mine.csv"
    # Another session (a shared link) never sees this upload.
    other = open_app(PAGE, {"data": "your upload"})
    assert other.session_state["_upload"] is None
    assert other.sidebar.selectbox(key="data").value == "schools"
    # Removing the upload returns to the default data set.
    at.button(key="_remove_upload").click().run()
    assert at.session_state["_upload"] is None
    assert at.sidebar.selectbox(key="data").value == "schools"


def test_bad_upload_shows_an_error_not_an_exception(open_page):
    at = open_page(PAGE)
    at.file_uploader(key="_upload_widget").upload("broken.csv", b"a,b\n1,2\n1,2,3\n").run()
    assert not at.exception
    assert any("broken.csv" in plain(e.value) and "could not be read" in e.value for e in at.error)
    assert at.sidebar.selectbox(key="data").value == "schools"
    at.file_uploader(key="_upload_widget").set_value(("dup.csv", b"a,a\n1,2\n", "text/csv")).run()
    assert not at.exception
    assert any("duplicate column names" in e.value for e in at.error)


def test_upload_handler_directly():
    # What the uploader's callback stores, put into session state by hand; then the
    # data-set selector offers it and choosing it resets the roles to guessed ones.
    from ui.state import UploadedTable

    at = open_app(PAGE)
    csv = b"g,x,y\na,1,2\na,2,3\nb,1,1\nb,2,5\nc,1,0\nc,2,1\n"
    at.session_state["_upload"] = UploadedTable.from_bytes("direct.csv", csv)
    at.run()
    assert "your upload" in at.sidebar.selectbox(key="data").options
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="group").value == "g"
    assert {m.label: m.value for m in at.metric}["Rows"] == "6"


def test_upload_stays_active_on_other_pages(open_page):
    at = open_page(PAGE)
    csv = b"class_id,age,score\na,1,2\na,2,3\na,3,5\nb,1,3\nb,2,4\nb,3,6\nc,1,1\nc,2,2\nc,3,2\n"
    at.file_uploader(key="_upload_widget").upload("mine.csv", csv).run()
    at.switch_page("pages/3_Model.py").run()
    assert not at.exception
    assert "score ~ 1 + age + (1 | class_id)" in [c.value for c in at.code]


def test_upload_size_is_shown_in_bytes_for_a_small_file(open_page):
    at = open_page(PAGE)
    csv = b"class_id,age,score\na,1,2\na,2,3\na,3,5\nb,1,3\nb,2,4\nb,3,6\nc,1,1\nc,2,2\nc,3,2\n"
    at.file_uploader(key="_upload_widget").upload("mine.csv", csv).run()
    assert any(f"({len(csv)} bytes)" in m.value for m in at.markdown)


def test_file_size_units():
    from ui.views.data import file_size

    assert file_size(336) == "336 bytes"
    assert file_size(1) == "1 byte"
    assert file_size(2048) == "2.0 KB"  # units of 1000, as st.file_uploader shows sizes
    assert file_size(153_400_000) == "153.4 MB"


def test_header_of_empty_names_is_explained(open_page):
    at = open_page(PAGE)
    at.file_uploader(key="_upload_widget").upload("semi.csv", b";;;\n1;2;3;4\n").run()
    assert not at.exception
    assert any("first row should hold column names" in e.value for e in at.error)
