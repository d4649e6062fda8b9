"""Sharing an upload through a link (issue 17) and links that wait for an upload (issue 18).

Each test gets its own share store in ``tmp_path`` (``EXPLORER_SHARE_DIR``; the
server's store is an ``st.cache_resource`` singleton, cleared around every test).
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest
from conftest import open_app, plain

from lib.serve.share_store import UNAVAILABLE_MESSAGE, ShareStore, ShareWithdrawn
from lib.table.catalogue import load_bundled
from lib.table.roles import Roles, guess_roles
from ui import serve

DATA, MODEL = "pages/1_Data.py", "pages/3_Model.py"
SCHOOLS_FORMULA = "test_score ~ 1 + study_time + (1 | school)"


@pytest.fixture
def store_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("EXPLORER_SHARE_DIR", str(tmp_path))
    serve.share_store.clear()
    yield tmp_path
    serve.share_store.clear()


def class_table() -> pd.DataFrame:
    """The tutorial's table under other names, with a school-level constant (a column a
    guessed model could wrongly take as the predictor)."""
    frame = load_bundled("schools").rename(
        columns={"school": "campus", "study_time": "hours", "test_score": "exam"}
    )
    frame["campus_size"] = frame.groupby("campus")["exam"].transform("size").astype(float)
    return frame


def query_of(at) -> dict[str, str]:
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


def shown_text(at) -> str:
    """Every text element and label on the page (not the link box's code)."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    ]
    parts += [str(o) for box in at.selectbox for o in box.options]
    return "\n".join(parts)


def share_from_upload(random_slope: bool = True):
    """The teacher: upload, switch the random slope on, tick Share."""
    at = open_app(DATA)
    at.file_uploader(key="_upload_widget").upload(
        "class.csv", class_table().to_csv(index=False).encode()
    ).run()
    at.sidebar.toggle(key="random_slope").set_value(random_slope).run()
    at.checkbox(key="_share_upload").check().run()
    assert not at.exception
    return at


def fixed_effects(at) -> pd.DataFrame:
    for element in at.dataframe:
        if "Estimate" in element.value.columns:
            return element.value
    raise AssertionError("no fixed-effects table")


def test_a_shared_link_opens_the_teachers_data_roles_and_model(store_dir):
    teacher = share_from_upload()
    query = query_of(teacher)
    token = query["data"].removeprefix("shared:")
    assert query["data"].startswith("shared:") and len(token) == 32
    assert query["random_slope"] == "true"
    # The selector names the file, never the token; the link box holds the whole link.
    selector = teacher.sidebar.selectbox(key="data")
    assert selector.value == query["data"]
    assert selector.options[-1] == "class.csv (shared link)"  # the label shown
    assert token not in shown_text(teacher)
    assert any(token in c.value and "data=shared:" in c.value for c in teacher.code)
    # The teacher's own Model page and a student's session opened with the link agree.
    teacher.switch_page(MODEL).run()
    student = open_app(MODEL, query)
    assert not student.exception
    formula = "exam ~ 1 + hours + (1 + hours | campus)"
    assert formula in [c.value for c in teacher.sidebar.code]
    assert formula in [c.value for c in student.sidebar.code]
    assert student.sidebar.selectbox(key="y").value == "exam"
    assert student.sidebar.selectbox(key="group").value == "campus"
    pd.testing.assert_frame_equal(fixed_effects(student), fixed_effects(teacher))
    assert not [w for w in student.warning if "do not apply" in w.value]
    # The student's session cannot stop sharing (it has no receipt) and has no upload.
    student.switch_page(DATA).run()
    assert student.session_state["_upload"] is None
    assert any("shared through a link" in plain(i.value) for i in student.info)
    assert not [b for b in student.button if b.key == "_stop_sharing"]


def test_the_teachers_roles_travel_with_the_link(store_dir):
    teacher = share_from_upload(random_slope=False)
    roles = serve.share_store().meta(query_of(teacher)["data"].removeprefix("shared:")).roles
    assert roles == Roles(outcome="exam", predictor="hours", group="campus")


def test_stop_sharing_withdraws_the_link(store_dir):
    teacher = share_from_upload()
    query = query_of(teacher)
    teacher.button(key="_stop_sharing").click().run()
    assert not teacher.exception
    assert teacher.sidebar.selectbox(key="data").value == "your upload"  # still has its file
    assert query_of(teacher)["data"] == "your upload"
    assert not list((store_dir / "tables").glob("*.parquet"))  # the table is deleted
    student = open_app(MODEL, query)
    assert not student.exception
    notes = plain("\n".join(w.value for w in student.warning))
    assert "data=shared:…: The data behind this link was withdrawn on" in notes
    assert SCHOOLS_FORMULA.replace("(1 |", "(1 + study_time |") in [
        c.value for c in student.sidebar.code
    ]  # the default data, with the link's model
    assert query["data"].removeprefix("shared:") not in notes


def links_shown(at) -> tuple[str, str]:
    """(the class's link, the manage link) of the owner's panel."""
    links = [c.value for c in at.code if "data=shared:" in c.value]
    class_links = [link for link in links if "manage=" not in link]
    manage_links = [link for link in links if "manage=" in link]
    assert len(class_links) == 1 and len(manage_links) == 1, links
    return class_links[0], manage_links[0]


def query_in(link: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(link).query).items()}


def test_the_manage_link_restores_stop_sharing_after_a_reload(store_dir):
    """The teacher's reload keeps the data; the private manage link gives back Stop
    sharing; neither the address bar nor the class's link ever carries its secret."""
    teacher = share_from_upload()
    class_link, manage_link = links_shown(teacher)
    address = query_of(teacher)
    token = address["data"].removeprefix("shared:")
    secret = query_in(manage_link)["manage"]
    assert len(secret) == 43 and secret not in class_link
    assert "manage" not in address and query_in(class_link)["data"] == address["data"]
    # A reload is a new session from the address bar: the data, not the rights.
    reloaded = open_app(DATA, address)
    assert not reloaded.exception
    assert any("shared through a link" in plain(i.value) for i in reloaded.info)
    assert not [b for b in reloaded.button if b.key == "_stop_sharing"]
    # The manage link: the owner's panel (same links), and the secret leaves the URL.
    manager = open_app(DATA, query_in(manage_link))
    assert not manager.exception
    assert "manage" not in query_of(manager)
    assert query_of(manager)["data"] == address["data"]
    assert not any("shared through a link" in plain(i.value) for i in manager.info)
    assert links_shown(manager)[1].count(secret) == 1
    assert secret not in links_shown(manager)[0]
    manager.switch_page(MODEL).run()
    assert "manage" not in query_of(manager)  # on every page
    assert "exam ~ 1 + hours + (1 + hours | campus)" in [c.value for c in manager.sidebar.code]
    manager.switch_page(DATA).run()
    manager.button(key="_stop_sharing").click().run()
    assert not manager.exception
    assert manager.sidebar.selectbox(key="data").value == "schools"
    assert not list((store_dir / "tables").glob("*.parquet"))
    with pytest.raises(ShareWithdrawn):
        serve.share_store().meta(token)
    student = open_app(MODEL, address)
    assert any("was withdrawn on" in plain(w.value) for w in student.warning)


def test_a_wrong_manage_secret_opens_the_data_without_the_rights(store_dir):
    teacher = share_from_upload()
    address = query_of(teacher)
    other = ShareStore(store_dir).share(class_table(), name="other.csv")
    for wrong in (other.owner_secret, "x" * 43, "../../etc/passwd", "é" * 50):
        at = open_app(DATA, {**address, "manage": wrong})
        assert not at.exception
        assert "manage" not in query_of(at)
        assert not [b for b in at.button if b.key == "_stop_sharing"]
        assert any("shared through a link" in plain(i.value) for i in at.info)
        notes = plain("\n".join(w.value for w in at.warning))
        assert "manage=…: This manage link does not match the shared data" in notes
        assert wrong not in notes
    assert serve.share_store().meta(address["data"].removeprefix("shared:")).name == "class.csv"


def test_a_withdrawal_reaches_an_open_session_at_its_next_rerun(store_dir):
    teacher = share_from_upload()
    student = open_app(MODEL, query_of(teacher))
    assert "exam ~ 1 + hours + (1 + hours | campus)" in [c.value for c in student.sidebar.code]
    teacher.button(key="_stop_sharing").click().run()
    student.run()
    assert not student.exception
    assert student.sidebar.selectbox(key="data").value == "schools"
    assert any("was withdrawn on" in plain(w.value) for w in student.warning)


def test_an_expired_link_says_so(store_dir):
    week_ago = time.time() - 8 * 86400
    receipt = ShareStore(store_dir, clock=lambda: week_ago).share(class_table(), name="old.csv")
    at = open_app(MODEL, {"data": f"shared:{receipt.token}"})
    assert not at.exception
    notes = plain("\n".join(w.value for w in at.warning))
    assert "The data behind this link expired on" in notes
    assert SCHOOLS_FORMULA in [c.value for c in at.sidebar.code]


@pytest.mark.parametrize(
    "token",
    [
        "../../etc/passwd",
        "a/b/" + "c" * 28,
        "..",
        "x" * 10_000,
        "é" * 32,
        "A" * 31 + "\n",
        "%2e%2e%2f" + "a" * 23,
    ],
)
def test_malformed_tokens_get_the_same_message_and_touch_no_file(store_dir, token, monkeypatch):
    serve.share_store()  # made (and purged) before the run: the run itself opens nothing
    touched = []
    monkeypatch.setattr(ShareStore, "_connect", lambda self: touched.append("db") or 1 / 0)
    monkeypatch.setattr(ShareStore, "_path", lambda self, tid: touched.append("file") or 1 / 0)
    at = open_app(MODEL, {"data": f"shared:{token}"})
    assert not at.exception
    assert touched == []
    notes = plain("\n".join(w.value for w in at.warning))
    assert f"data=shared:…: {UNAVAILABLE_MESSAGE}" in notes
    assert SCHOOLS_FORMULA in [c.value for c in at.sidebar.code]


def test_an_unknown_well_formed_token_gets_the_same_message(store_dir):
    at = open_app(MODEL, {"data": "shared:" + "A" * 32})
    assert not at.exception
    assert f"data=shared:…: {UNAVAILABLE_MESSAGE}" in plain("\n".join(w.value for w in at.warning))


def test_a_session_without_the_token_cannot_reach_the_data(store_dir):
    teacher = share_from_upload()
    other = open_app(DATA)
    options = other.sidebar.selectbox(key="data").options
    assert "your upload" not in options
    assert not [o for o in options if "shared" in o or "class.csv" in o]
    assert (
        "_share_receipts" not in other.session_state or not other.session_state["_share_receipts"]
    )
    assert teacher.session_state["_share_receipts"]


def test_nothing_is_shared_unless_asked(store_dir):
    at = open_app(DATA)
    at.file_uploader(key="_upload_widget").upload(
        "class.csv", class_table().to_csv(index=False).encode()
    ).run()
    assert not at.exception
    assert at.checkbox(key="_share_upload").value is False
    assert query_of(at)["data"] == "your upload"
    assert not (store_dir / "tables").exists() or not list((store_dir / "tables").iterdir())


def test_a_link_to_an_upload_keeps_its_values_until_the_file_arrives(store_dir):
    """Issue 18: the address bar keeps the link's columns and model, the upload gets
    them (not a guessed model), and the link's message goes once the data arrive."""
    frame = class_table()
    guessed = guess_roles(frame)
    link = {
        "data": "your upload",
        "y": "exam",
        "x": "campus_size",  # not what guess_roles picks
        "group": "campus",
        "random_slope": "true",
        "fixed_slope": "false",
    }
    assert guessed.predictor != link["x"]
    at = open_app(MODEL, link)
    assert not at.exception
    assert query_of(at) == link  # nothing dropped while the data are missing
    assert any("upload it again" in plain(w.value) for w in at.warning)
    at.switch_page(DATA).run()
    assert query_of(at) == link
    at.file_uploader(key="_upload_widget").upload("class.csv", frame.to_csv(index=False).encode())
    at.run()
    assert not at.exception
    assert at.sidebar.selectbox(key="x").value == "campus_size"
    assert at.sidebar.toggle(key="random_slope").value is True
    assert "exam ~ 1 + (1 + campus_size | campus)" in [c.value for c in at.sidebar.code]
    assert not [w for w in at.warning if "do not apply" in w.value]
    assert query_of(at)["x"] == "campus_size"


def test_a_large_upload_says_it_cannot_be_shared_and_why(store_dir, monkeypatch):
    """A file read by DuckDB (here over a 1 MiB threshold) has no share box; the page
    says so with the size and row limits that would make an extract shareable."""
    from lib.aggregate import upload as lib_upload
    from ui import row_limit

    monkeypatch.setenv(lib_upload.THRESHOLD_ENV, str(1024 * 1024))
    frame = pd.concat([class_table()] * 400, ignore_index=True)
    content = frame.to_csv(index=False).encode()
    assert len(content) > 1024 * 1024
    at = open_app(DATA)
    at.file_uploader(key="_upload_widget").upload("big.csv", content).run()
    assert not at.exception
    assert at.sidebar.selectbox(key="data").value == "your upload"
    assert not [c for c in at.checkbox if c.key == "_share_upload"]
    note = plain("\n".join(i.value for i in at.info))
    assert "This file cannot be shared through a link" in note
    assert "files over 1 MB (CSV or Parquet)" in note
    assert f"more than {row_limit.pandas_row_limit():,} rows are read by DuckDB" in note
    assert "shared tables are kept up to 64 MiB as Parquet" in note
    assert not list(store_dir.rglob("*.parquet"))  # nothing was written


def test_sessions_on_one_link_share_one_table_not_copies(store_dir):
    """``frame_for`` hands every run the same frame object for the same content (no
    copy of the whole table per rerun), and a withdrawn link no longer reaches it."""
    from lib.serve.share_store import ShareWithdrawn as Withdrawn
    from ui import cache

    receipt = ShareStore(store_dir).share(class_table(), name="class.csv")
    option = f"shared:{receipt.token}"
    first, again = cache.frame_for(option, None), cache.frame_for(option, None)
    assert first is again
    pd.testing.assert_frame_equal(first, class_table(), check_dtype=False)
    assert cache.frame_for("schools", None) is cache.frame_for("schools", None)
    serve.share_store().withdraw(receipt.token, receipt.owner_secret)
    cache.forget_link(receipt.token)
    with pytest.raises(Withdrawn):
        cache.frame_for(option, None)
