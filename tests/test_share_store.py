"""lib.serve.share_store: round trip, expiry, withdrawal, caps, bad tokens, processes."""

from __future__ import annotations

import builtins
import os
import pathlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.errors import ExplorerError
from lib.serve import share_store
from lib.serve.share_store import (
    DAY,
    UNAVAILABLE_MESSAGE,
    ShareError,
    ShareExpired,
    ShareNotOwner,
    ShareStore,
    ShareTooLarge,
    ShareUnavailable,
    ShareWithdrawn,
)
from lib.table.catalogue import BUNDLED, load_bundled

ROOT = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock) -> ShareStore:
    return ShareStore(tmp_path / "shared", clock=clock)


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "school": pd.Series(["Oakwood", "Hillcrest", None, "St Mary's"], dtype="str"),
            "level": pd.Categorical(
                ["low", "high", None, "low"], categories=["low", "high", "unused"], ordered=True
            ),
            "score": [41.5, np.nan, 48.25, -0.0],
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            "n": np.array([1, 2, 3, 2**40], dtype=np.int64),
            "passed": [True, False, True, False],
            "when": pd.to_datetime(["2024-01-02", None, "2024-03-04", "2024-05-06"]),
            "café ☕": ["é", "ü", "", "\u00a0"],
        }
    )


def numbered_frame(i: int, rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(i)
    return pd.DataFrame({"i": np.full(rows, i), "x": rng.normal(size=rows)})


def test_round_trip_keeps_values_and_dtypes(store):
    frame = mixed_frame()
    receipt = store.share(frame, name="class data.csv")
    opened = store.open(receipt.token)
    pd.testing.assert_frame_equal(opened.frame, frame, check_exact=True)
    assert list(opened.frame["level"].cat.categories) == ["low", "high", "unused"]
    assert opened.frame["level"].cat.ordered
    assert opened.meta.name == "class data.csv"
    assert (opened.meta.n_rows, opened.meta.n_columns) == (4, 8)
    assert opened.meta.roles is None
    stored = store.root / "tables" / (share_store.token_id(receipt.token) + ".parquet")
    assert opened.meta.size_bytes == stored.stat().st_size
    assert opened.meta.expires_at - opened.meta.created_at == pytest.approx(7 * DAY)


def test_round_trip_of_a_bundled_table_with_its_roles(store):
    frame = load_bundled("schools")
    roles = BUNDLED["schools"].roles
    receipt = store.share(frame, name="schools.csv", roles=roles)
    opened = store.open(receipt.token)
    pd.testing.assert_frame_equal(opened.frame, frame, check_exact=True)
    assert opened.meta.roles == roles
    multilevel = next(e for e in BUNDLED.values() if e.roles.levels)
    receipt = store.share(load_bundled(multilevel.key), name="x", roles=multilevel.roles)
    assert store.open(receipt.token).meta.roles == multilevel.roles


def test_meta_answers_without_reading_the_table(store, clock, monkeypatch):
    receipt = store.share(numbered_frame(1), name="t.csv")
    digest = store.open(receipt.token).meta.digest

    def no_read(*args, **kwargs):
        raise AssertionError("the table file was read")

    with monkeypatch.context() as patch:
        patch.setattr(pathlib.Path, "read_bytes", no_read)
        meta = store.meta(receipt.token)
        assert (meta.name, meta.n_rows, meta.digest) == ("t.csv", 200, digest)
        clock.now += 7 * DAY
        with pytest.raises(ShareExpired):
            store.meta(receipt.token)
        with pytest.raises(ShareUnavailable) as error:
            store.meta("../x")
    assert str(error.value) == UNAVAILABLE_MESSAGE


def test_a_non_default_index_is_kept(store):
    frame = mixed_frame().iloc[[3, 1]]
    opened = store.open(store.share(frame, name="rows").token)
    pd.testing.assert_frame_equal(opened.frame, frame, check_exact=True)


def test_tokens_are_random_and_never_stored(store):
    receipts = [store.share(numbered_frame(i), name=f"t{i}") for i in range(3)]
    tokens = [r.token for r in receipts]
    assert len(set(tokens)) == 3
    for receipt in receipts:
        assert len(receipt.token) == 32 and len(receipt.owner_secret) == 43
        assert set(receipt.token) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
    # Neither the tokens nor the owner secrets appear in any file name or file content.
    secrets = [t.encode() for t in tokens] + [r.owner_secret.encode() for r in receipts]
    for path in store.root.rglob("*"):
        assert not any(s.decode() in path.name for s in secrets)
        if path.is_file():
            content = path.read_bytes()
            assert not any(s in content for s in secrets), path


def test_a_stored_file_is_named_by_the_hash_of_its_token(store):
    receipt = store.share(numbered_frame(1), name="t")
    names = [p.name for p in (store.root / "tables").iterdir()]
    assert names == [share_store.token_id(receipt.token) + ".parquet"]


def test_links_expire_after_the_ttl(store, clock):
    receipt = store.share(numbered_frame(1), name="t")
    clock.now += 7 * DAY - 1
    assert store.open(receipt.token).meta.n_rows == 200
    clock.now += 1
    with pytest.raises(ShareExpired, match=r"expired on .* kept for 7 days"):
        store.open(receipt.token)
    assert store.usage().live_tables == 0
    assert store.purge() == 1
    assert list((store.root / "tables").iterdir()) == []  # the data is deleted
    with pytest.raises(ShareExpired):
        store.open(receipt.token)  # still says why, for 30 days
    clock.now += 31 * DAY
    store.purge()
    with pytest.raises(ShareUnavailable) as error:
        store.open(receipt.token)
    assert str(error.value) == UNAVAILABLE_MESSAGE
    assert type(error.value) is ShareUnavailable


def test_the_ttl_is_configurable(tmp_path, clock):
    store = ShareStore(tmp_path, ttl_seconds=60, clock=clock)
    receipt = store.share(numbered_frame(1), name="t")
    clock.now += 59
    store.open(receipt.token)
    clock.now += 1
    with pytest.raises(ShareExpired):
        store.open(receipt.token)


def test_sharing_ends_expired_links(store, clock):
    old = store.share(numbered_frame(1), name="old")
    clock.now += 8 * DAY
    store.share(numbered_frame(2), name="new")
    assert not (store.root / "tables" / (share_store.token_id(old.token) + ".parquet")).exists()


def test_withdraw_needs_the_owner_secret(store):
    receipt = store.share(numbered_frame(1), name="t")
    other = store.share(numbered_frame(2), name="u")
    for wrong in (other.owner_secret, "x" * 43, "", None, receipt.token):
        with pytest.raises(ShareNotOwner, match="Only the session that shared"):
            store.withdraw(receipt.token, wrong)
    assert store.open(receipt.token).meta.name == "t"
    store.withdraw(receipt.token, receipt.owner_secret)
    with pytest.raises(ShareWithdrawn, match="withdrawn on .* by the person who shared it"):
        store.open(receipt.token)
    assert len(list((store.root / "tables").iterdir())) == 1  # only the other table is left
    store.withdraw(receipt.token, receipt.owner_secret)  # twice is fine
    assert store.open(other.token).meta.name == "u"


def test_a_manage_link_claims_the_owner_receipt(store, clock):
    """``claim`` gives the uploader's receipt back to whoever holds the owner secret (the
    manage link), and to nobody else; it says so for an ended link."""
    receipt = store.share(numbered_frame(1), name="t")
    other = store.share(numbered_frame(2), name="u")
    assert store.claim(receipt.token, receipt.owner_secret) == receipt
    for wrong in (other.owner_secret, "x" * 43, "", None, "../" * 15, "é" * 43, receipt.token):
        with pytest.raises(ShareNotOwner, match="does not match the shared data"):
            store.claim(receipt.token, wrong)
    with pytest.raises(ShareUnavailable, match=UNAVAILABLE_MESSAGE[:30]):
        store.claim("../" + receipt.token[3:], receipt.owner_secret)
    claimed = store.claim(receipt.token, receipt.owner_secret)
    store.withdraw(claimed.token, claimed.owner_secret)  # the claimed receipt withdraws
    with pytest.raises(ShareWithdrawn):
        store.claim(receipt.token, receipt.owner_secret)
    clock.now += 8 * DAY
    with pytest.raises(ShareExpired):
        store.claim(other.token, other.owner_secret)


def test_one_owner_secret_for_a_sessions_shares(store):
    first = store.share(numbered_frame(1), name="a")
    second = store.share(numbered_frame(2), name="b", owner_secret=first.owner_secret)
    assert second.owner_secret == first.owner_secret
    store.withdraw(second.token, first.owner_secret)
    with pytest.raises(ShareWithdrawn):
        store.open(second.token)
    with pytest.raises(ShareError, match="owner secret"):
        store.share(numbered_frame(3), name="c", owner_secret="not a secret")


def test_a_table_over_the_size_cap_is_refused(tmp_path, clock):
    probe = ShareStore(tmp_path / "probe", clock=clock)
    size = probe.open(probe.share(numbered_frame(1), name="t").token).meta.size_bytes
    store = ShareStore(tmp_path / "capped", max_table_bytes=size - 1, clock=clock)
    with pytest.raises(ShareTooLarge, match="more than the"):
        store.share(numbered_frame(1), name="t")
    assert store.usage().live_tables == 0
    assert list((store.root / "tables").iterdir()) == []
    ShareStore(tmp_path / "exact", max_table_bytes=size, clock=clock).share(
        numbered_frame(1), name="t"
    )


def test_the_oldest_tables_are_evicted_past_the_total_cap(tmp_path, clock):
    probe = ShareStore(tmp_path / "probe", clock=clock)
    sizes = [
        probe.open(probe.share(numbered_frame(i), name="t").token).meta.size_bytes for i in range(4)
    ]
    cap = sizes[0] + sizes[1] + sizes[2] - 1
    store = ShareStore(
        tmp_path / "store", max_table_bytes=max(sizes), max_total_bytes=cap, clock=clock
    )
    receipts = []
    for i in range(3):
        receipts.append(store.share(numbered_frame(i), name=f"t{i}"))
        clock.now += 10
    with pytest.raises(ShareExpired, match="removed on .* to make room"):
        store.open(receipts[0].token)
    assert store.open(receipts[1].token).frame["i"].iloc[0] == 1
    assert store.open(receipts[2].token).frame["i"].iloc[0] == 2
    receipts.append(store.share(numbered_frame(3), name="t3"))
    with pytest.raises(ShareExpired, match="to make room"):
        store.open(receipts[1].token)  # the next oldest goes next
    assert store.usage().live_bytes <= cap
    assert store.usage().live_tables == 2
    assert len(list((store.root / "tables").iterdir())) == 2


BAD_TOKENS = [
    "../x",
    "a/b",
    "..",
    "x" * 10000,
    "é",
    "\x00",
    "",
    "A" * 31,
    "A" * 33,
    "A" * 31 + "/",
    "A" * 31 + "\n",
    "A" * 31 + "é",
    "A" * 30 + "..",
    "A" * 31 + "\x00",
    "A" * 31 + " ",
    "A" * 31 + "=",
    "ＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡＡ",  # fullwidth letters
    None,
    b"A" * 32,
    32,
]


def test_malformed_tokens_get_the_unknown_message_and_touch_nothing(store, monkeypatch):
    store.share(numbered_frame(1), name="t")

    def forbidden(*args, **kwargs):
        raise AssertionError(f"file system or database touched: {args!r}")

    with monkeypatch.context() as patch:
        for module, name in [
            (sqlite3, "connect"),
            (builtins, "open"),
            (os, "open"),
            (os, "stat"),
            (os, "lstat"),
            (os, "listdir"),
            (os, "scandir"),
            (os, "unlink"),
            (os, "replace"),
            (pathlib.Path, "read_bytes"),
            (pathlib.Path, "exists"),
            (pathlib.Path, "unlink"),
        ]:
            patch.setattr(module, name, forbidden)
        errors = []
        for token in BAD_TOKENS:
            with pytest.raises(ShareUnavailable) as opened:
                store.open(token)
            with pytest.raises(ShareUnavailable) as withdrawn:
                store.withdraw(token, "A" * 43)
            errors += [opened.value, withdrawn.value]
    assert {type(e) for e in errors} == {ShareUnavailable}
    assert {str(e) for e in errors} == {UNAVAILABLE_MESSAGE}


def test_an_unknown_token_gets_the_same_message(store):
    with pytest.raises(ShareUnavailable) as error:
        store.open("A" * 32)
    assert str(error.value) == UNAVAILABLE_MESSAGE
    assert type(error.value) is ShareUnavailable
    with pytest.raises(ShareUnavailable) as error:
        store.withdraw("A" * 32, "B" * 43)
    assert str(error.value) == UNAVAILABLE_MESSAGE
    assert issubclass(ShareUnavailable, ExplorerError)


def test_malformed_tokens_create_nothing_in_a_fresh_folder(tmp_path):
    store = ShareStore(tmp_path / "fresh")
    before = sorted((p.relative_to(tmp_path), p.stat().st_size) for p in tmp_path.rglob("*"))
    for token in BAD_TOKENS:
        with pytest.raises(ShareUnavailable):
            store.open(token)
    after = sorted((p.relative_to(tmp_path), p.stat().st_size) for p in tmp_path.rglob("*"))
    assert after == before
    assert not (tmp_path / "x").exists() and not (tmp_path / "fresh" / "x").exists()


def test_a_damaged_file_is_reported_not_parsed(store):
    receipt = store.share(numbered_frame(1), name="t")
    path = store.root / "tables" / (share_store.token_id(receipt.token) + ".parquet")
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ShareUnavailable, match="damaged"):
        store.open(receipt.token)


def test_a_failed_share_leaves_no_file(store, monkeypatch):
    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(ShareStore, "_evict_for", broken)
    with pytest.raises(sqlite3.OperationalError):
        store.share(numbered_frame(1), name="t")
    assert list((store.root / "tables").iterdir()) == []


def test_purge_removes_orphaned_files_only(store):
    receipt = store.share(numbered_frame(1), name="t")
    orphan = store.root / "tables" / ("0" * 64 + ".parquet")
    orphan.write_bytes(b"left by a crash")
    fresh = store.root / "tables" / (".tmp-abc.part")
    fresh.write_bytes(b"a share in progress")
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    store.purge()
    assert not orphan.exists()
    assert fresh.exists()
    assert store.open(receipt.token).meta.name == "t"


def test_a_column_that_cannot_be_stored_gets_a_message(store):
    frame = pd.DataFrame({"mixed": pd.Series(["a", 1, 2.5], dtype=object)})
    with pytest.raises(ShareError, match="mixed.*make it all text or all numbers"):
        store.share(frame, name="t")
    with pytest.raises(ShareError, match="Only a table"):
        store.share([1, 2], name="t")
    assert store.usage().live_tables == 0


def test_the_name_is_kept_as_plain_text(store):
    receipt = store.share(numbered_frame(1), name="a\x00b\nc\u202ed" + "z" * 300)
    assert store.open(receipt.token).meta.name == "abcd" + "z" * 196


def test_an_unusable_folder_gets_a_message(tmp_path):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    with pytest.raises(ShareError, match="cannot be used.*EXPLORER_SHARE_DIR"):
        ShareStore(blocker / "shared")


def test_two_store_objects_on_one_folder(tmp_path, clock):
    first = ShareStore(tmp_path, clock=clock)
    second = ShareStore(tmp_path, clock=clock)
    receipt = first.share(numbered_frame(7), name="t")
    assert second.open(receipt.token).frame["i"].iloc[0] == 7
    second.withdraw(receipt.token, receipt.owner_secret)
    with pytest.raises(ShareWithdrawn):
        first.open(receipt.token)


def test_links_survive_a_restart(tmp_path):
    receipt = ShareStore(tmp_path).share(numbered_frame(3), name="t")
    restarted = ShareStore(tmp_path)
    pd.testing.assert_frame_equal(restarted.open(receipt.token).frame, numbered_frame(3))
    assert (tmp_path / "index.sqlite3").exists()
    with sqlite3.connect(tmp_path / "index.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


WRITER = """
import sys
from lib.serve.share_store import ShareStore
import numpy as np, pandas as pd
store = ShareStore(sys.argv[1], max_total_bytes=int(sys.argv[2]))
for i in range(int(sys.argv[3])):
    frame = pd.DataFrame({"i": np.full(300, i), "x": np.arange(300) * 0.5 + i})
    print(i, store.share(frame, name=f"child{i}").token, flush=True)
"""


def test_another_process_writes_while_this_one_reads_and_writes(tmp_path):
    root = tmp_path / "shared"
    cap = 50 * 1024 * 1024
    store = ShareStore(root, max_total_bytes=cap)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(cap), "30"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    mine = []
    seen = 0
    for line in child.stdout:
        i, token = line.split()
        opened = store.open(token)  # the row and the whole file, as soon as it is reported
        expected = np.arange(300) * 0.5 + int(i)
        np.testing.assert_array_equal(opened.frame["x"].to_numpy(), expected)
        assert opened.meta.name == f"child{i}"
        mine.append(store.share(numbered_frame(int(i)), name=f"parent{i}"))
        seen += 1
    assert child.wait(timeout=60) == 0
    assert seen == 30
    for i, receipt in enumerate(mine):
        pd.testing.assert_frame_equal(store.open(receipt.token).frame, numbered_frame(i))
    assert store.usage().live_tables == 60


def test_processes_sharing_at_once_keep_the_total_cap(tmp_path):
    root = tmp_path / "shared"
    size = ShareStore(tmp_path / "probe").share(numbered_frame(0, 300), name="t")
    one = ShareStore(tmp_path / "probe").open(size.token).meta.size_bytes
    cap = 10 * one
    store = ShareStore(root, max_total_bytes=cap)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(cap), "25"],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for _ in range(2)
    ]
    for i in range(25):
        store.share(numbered_frame(i, 300), name=f"parent{i}")
    tokens = []
    for child in children:
        tokens += [line.split()[1] for line in child.stdout]
        assert child.wait(timeout=60) == 0
    assert len(tokens) == 50
    usage = store.usage()
    assert usage.live_bytes <= cap
    assert usage.live_tables >= 8  # evicting one old table per new one, not more
    files = [p for p in (root / "tables").iterdir() if not p.name.startswith(".")]
    assert len(files) == usage.live_tables  # evicted tables' files are gone
    opened = 0
    for token in tokens:
        try:
            opened += store.open(token).meta.n_rows == 300
        except ShareExpired as error:
            assert "to make room" in str(error)
    assert 0 < opened <= usage.live_tables
