"""A table shared through a link: stored on disk under an unguessable token.

A teacher uploads a file and ticks "share"; the app keeps the *parsed* table
(Parquet, not the upload's bytes) and a little metadata under a random token, and
the class opens ``?data=shared:TOKEN``. Design (``docs/sharing.md``):

- **Tokens.** ``secrets.token_urlsafe(24)``: 192 random bits, 32 URL-safe
  characters. Nothing stores the token itself: the index and the file name use
  ``sha256(token)``, so the folder cannot be listed back into links, and no API
  enumerates tokens. A string that is not exactly 32 characters of
  ``[A-Za-z0-9_-]`` is refused before any file or database is touched, with the
  same message as an unknown token (existence cannot be probed).
- **Owner secret.** A second random token returned at share time and kept in the
  uploader's session; only its sha256 is stored. ``withdraw`` needs it; ``claim``
  checks it for a *manage link*, which gives the uploader's rights back to a new
  session (after a reload). It never appears in the class's link.
- **Storage.** ``ROOT/index.sqlite3`` (standard-library SQLite, WAL mode, busy
  timeout, one short transaction per operation, so several server processes can
  share the folder) and ``ROOT/tables/<sha256>.parquet``, written to a temporary
  file in the same folder and moved into place with ``os.replace`` (atomic on
  POSIX), so a reader sees the whole table or none. A table's file is written once
  and never changed; the row that makes it visible is inserted after the file is
  complete, and it is deleted only after the row says it has ended.
- **Lifetime.** Links expire (default 7 days); a table over ``max_table_bytes`` is
  refused; past ``max_total_bytes`` the oldest live tables are evicted first. An
  ended link's row is kept for ``keep_ended_seconds`` (default 30 days, data
  deleted) so that its link can still say *why* it no longer opens.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lib.serve.shared_table import (
    UNAVAILABLE_MESSAGE,
    SharedMeta,
    SharedTable,
    ShareError,
    ShareExpired,
    ShareNotOwner,
    ShareReceipt,
    ShareTooLarge,
    ShareUnavailable,
    ShareWithdrawn,
    StoreUsage,
    clean_name,
    parquet_bytes,
    roles_from_json,
    roles_to_json,
)
from lib.table.roles import Roles

__all__ = [
    "UNAVAILABLE_MESSAGE",
    "ShareError",
    "ShareExpired",
    "ShareNotOwner",
    "ShareReceipt",
    "ShareStore",
    "ShareTooLarge",
    "ShareUnavailable",
    "ShareWithdrawn",
    "SharedMeta",
    "SharedTable",
    "StoreUsage",
    "default_root",
    "token_id",
]

DAY = 86400.0
MIB = 1024 * 1024
TOKEN_BYTES = 24  # 192 bits; token_urlsafe gives ceil(24 * 4 / 3) = 32 characters
OWNER_BYTES = 32  # 256 bits, 43 characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_OWNER = re.compile(r"[A-Za-z0-9_-]{43}")
_ORPHAN_AGE = 3600.0  # a file with no row is an unfinished or crashed share after this long

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY,        -- sha256 hex of the token (the token is never stored)
    owner TEXT NOT NULL,        -- sha256 hex of the owner secret
    created REAL NOT NULL,      -- seconds since the epoch
    expires REAL NOT NULL,
    size INTEGER NOT NULL,      -- bytes of the Parquet file
    state TEXT NOT NULL CHECK (state IN ('live', 'withdrawn', 'expired', 'evicted')),
    ended REAL,                 -- when it stopped being live
    meta TEXT NOT NULL          -- JSON: name, roles, rows, columns, digest
)""",
    "CREATE INDEX IF NOT EXISTS shares_by_age ON shares (state, created)",
)


def default_root() -> Path:
    """``$XDG_CACHE_HOME/multilevel-explorer/shared`` (else ``~/.cache/...``).

    A cache folder rather than the system temp dir: links must survive a reboot
    for their 7 days, and /tmp is often cleared then.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "multilevel-explorer" / "shared"


def token_id(token: object) -> str:
    """sha256 hex of a well-formed token; ``ShareUnavailable`` for anything else.

    Runs before any file or database access (the length test first, so a huge
    string costs nothing); the hex digest is the only token-derived value that
    reaches a path or a query.
    """
    if not isinstance(token, str) or len(token) != 32 or not _TOKEN.fullmatch(token):
        raise ShareUnavailable(UNAVAILABLE_MESSAGE)
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _day(seconds: float) -> str:
    moment = datetime.fromtimestamp(seconds, UTC)
    return f"{moment.day} {moment:%B %Y}"


class ShareStore:
    """Shared tables in one folder; safe to use from many threads and processes.

    Parameters
    ----------
    root : path, optional
        The folder (created with mode 0700 if missing); ``default_root()`` if None.
        Every server process of one app must be given the same folder, on a local
        file system (SQLite's WAL mode does not work over NFS).
    ttl_seconds : float
        How long a link works (default 7 days).
    max_table_bytes, max_total_bytes : int
        Caps on one table's Parquet file (default 64 MiB, or the total if smaller)
        and on all live tables together (default 1 GiB).
    keep_ended_seconds : float
        How long an ended link still says why (withdrawn / expired) before it
        gets the same message as a link that never existed.
    clock : callable
        Seconds since the epoch (tests inject a fake one).
    busy_seconds : float
        How long a write waits for another process's transaction.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        ttl_seconds: float = 7 * DAY,
        max_table_bytes: int | None = None,
        max_total_bytes: int = 1024 * MIB,
        keep_ended_seconds: float = 30 * DAY,
        clock: Callable[[], float] = time.time,
        busy_seconds: float = 10.0,
    ) -> None:
        if ttl_seconds <= 0:
            raise ShareError(f"ttl_seconds must be positive, got {ttl_seconds!r}.")
        if max_table_bytes is None:
            max_table_bytes = min(64 * MIB, max_total_bytes)
        if not 0 < max_table_bytes <= max_total_bytes:
            raise ShareError(
                "Need 0 < max_table_bytes <= max_total_bytes, got "
                f"{max_table_bytes!r} and {max_total_bytes!r}."
            )
        self.root = Path(root) if root is not None else default_root()
        self.ttl_seconds = float(ttl_seconds)
        self.max_table_bytes = int(max_table_bytes)
        self.max_total_bytes = int(max_total_bytes)
        self.keep_ended_seconds = float(keep_ended_seconds)
        self.clock = clock
        self.busy_seconds = float(busy_seconds)
        self._tables = self.root / "tables"
        try:
            self._tables.mkdir(mode=0o700, parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")  # persistent: set once per database
                with _transaction(db):
                    for statement in _SCHEMA:
                        db.execute(statement)
        except (OSError, sqlite3.Error) as exc:
            raise ShareError(
                f"The folder for shared data, {str(self.root)!r}, cannot be used: {exc}. "
                "Set EXPLORER_SHARE_DIR to a writable folder on a local disk."
            ) from exc

    # ----- public API -----------------------------------------------------------------

    def share(
        self,
        frame: pd.DataFrame,
        *,
        name: str,
        roles: Roles | None = None,
        owner_secret: str | None = None,
    ) -> ShareReceipt:
        """Store ``frame`` and return the link's token and the owner's secret.

        ``owner_secret``: pass the secret of an earlier receipt of the same session
        to reuse it (one secret per session); a new one is made otherwise.

        Raises
        ------
        ShareTooLarge
            The table's Parquet file is over ``max_table_bytes``.
        ShareError
            A column cannot be stored (e.g. it mixes numbers and text).
        """
        if owner_secret is None:
            owner_secret = secrets.token_urlsafe(OWNER_BYTES)
        elif not isinstance(owner_secret, str) or not _OWNER.fullmatch(owner_secret):
            raise ShareError("The owner secret must be one this store returned in a receipt.")
        payload = parquet_bytes(frame)
        size = len(payload)
        if size > self.max_table_bytes:
            raise ShareTooLarge(
                f"This table takes {size / MIB:.1f} MB stored, more than the "
                f"{self.max_table_bytes / MIB:.0f} MB a shared data set may take here. Share "
                "fewer rows or columns, or ask whoever runs the server to raise the limit."
            )
        token = secrets.token_urlsafe(TOKEN_BYTES)
        tid = token_id(token)
        meta = json.dumps(
            {
                "name": clean_name(name),
                "roles": roles_to_json(roles),
                "n_rows": int(frame.shape[0]),
                "n_columns": int(frame.shape[1]),
                "digest": hashlib.sha256(payload).hexdigest(),
            }
        )
        path = self._path(tid)
        _atomic_write(path, payload)
        try:
            with self._connect() as db, _transaction(db):
                now = self.clock()
                ended = self._end_expired(db, now) + self._evict_for(db, size, now)
                db.execute(
                    "INSERT INTO shares (id, owner, created, expires, size, state, meta) "
                    "VALUES (?, ?, ?, ?, ?, 'live', ?)",
                    (tid, _secret_hash(owner_secret), now, now + self.ttl_seconds, size, meta),
                )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        self._delete_files(ended)
        return ShareReceipt(token, owner_secret, now + self.ttl_seconds)

    def open(self, token: str) -> SharedTable:
        """The shared table and its metadata.

        Raises
        ------
        ShareWithdrawn, ShareExpired
            The link was valid and has ended (the message says which, and when).
        ShareUnavailable
            Anything else (unknown or malformed token): one message for all.
        """
        tid = token_id(token)
        row = self._row(tid)
        self._raise_if_ended(row)
        try:
            payload = self._path(tid).read_bytes()
        except FileNotFoundError:
            # Ended by another process between the query and the read: say how.
            self._raise_if_ended(self._row(tid))
            raise ShareUnavailable(UNAVAILABLE_MESSAGE) from None
        meta = _meta(row)
        if hashlib.sha256(payload).hexdigest() != meta.digest:
            raise ShareUnavailable(
                "The data behind this link is damaged on the server and cannot be opened. "
                "Ask the person who shared it for a new link."
            )
        frame = pq.read_table(pa.BufferReader(payload)).to_pandas()
        return SharedTable(frame=frame, meta=meta)

    def meta(self, token: str) -> SharedMeta:
        """The link's metadata without reading the table: one indexed query.

        Call it on every page run to learn whether a link still works (withdrawn or
        expired since it was opened), and cache the frame by ``SharedMeta.digest``.
        Raises as ``open`` does.
        """
        row = self._row(token_id(token))
        self._raise_if_ended(row)
        return _meta(row)

    def claim(self, token: str, owner_secret: str) -> ShareReceipt:
        """The receipt of a live link, for the holder of its owner secret: what a
        *manage link* (``?data=shared:TOKEN&manage=SECRET``, ``docs/sharing.md``) gives
        back to the uploader after a reload or in another browser.

        Raises
        ------
        ShareWithdrawn, ShareExpired, ShareUnavailable
            As ``open`` (the link has ended, or the token is unknown or malformed).
        ShareNotOwner
            ``owner_secret`` is not the one returned when this link was made (a
            malformed secret is compared like any other and never reaches a file).
        """
        row = self._row(token_id(token))
        self._raise_if_ended(row)
        given = owner_secret if isinstance(owner_secret, str) else ""
        if not (_OWNER.fullmatch(given) and hmac.compare_digest(row["owner"], _secret_hash(given))):
            raise ShareNotOwner(
                "This manage link does not match the shared data (its secret is not the "
                "one made when the data was shared): the data opens, but only the manage "
                "link the sharer was given can stop sharing it."
            )
        return ShareReceipt(token, given, row["expires"])

    def withdraw(self, token: str, owner_secret: str) -> None:
        """Stop sharing: the link says "withdrawn" from now on and the data is deleted.

        Withdrawing twice, or after the link expired, is not an error.

        Raises
        ------
        ShareUnavailable
            Unknown or malformed token (the same message as ``open``).
        ShareNotOwner
            ``owner_secret`` is not the one returned when this link was made.
        """
        tid = token_id(token)
        given = owner_secret if isinstance(owner_secret, str) else ""
        with self._connect() as db, _transaction(db):
            row = db.execute("SELECT owner, state FROM shares WHERE id = ?", (tid,)).fetchone()
            if row is None:
                raise ShareUnavailable(UNAVAILABLE_MESSAGE)
            if not (_OWNER.fullmatch(given) and hmac.compare_digest(row[0], _secret_hash(given))):
                raise ShareNotOwner(
                    "Only the session that shared this data can stop sharing it (its "
                    "secret did not match). Open the app where you uploaded the file."
                )
            if row[1] == "live":
                db.execute(
                    "UPDATE shares SET state = 'withdrawn', ended = ? WHERE id = ?",
                    (self.clock(), tid),
                )
        self._delete_files([tid])

    def purge(self) -> int:
        """End expired links, forget long-ended ones, delete orphaned files.

        ``share`` already ends expired links; call this now and then (e.g. at
        server start) to free their space sooner. Returns the number of links ended.
        """
        with self._connect() as db, _transaction(db):
            now = self.clock()
            ended = self._end_expired(db, now)
            db.execute(
                "DELETE FROM shares WHERE state != 'live' AND ended < ?",
                (now - self.keep_ended_seconds,),
            )
            live = {r[0] for r in db.execute("SELECT id FROM shares WHERE state = 'live'")}
        self._delete_files(ended)
        self._sweep_orphans(live)
        return len(ended)

    def usage(self) -> StoreUsage:
        """How many tables are live and how many bytes they take."""
        with self._connect() as db:
            count, total = db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM shares "
                "WHERE state = 'live' AND expires > ?",
                (self.clock(),),
            ).fetchone()
        return StoreUsage(int(count), int(total))

    # ----- helpers --------------------------------------------------------------------

    def _connect(self) -> contextlib.closing[sqlite3.Connection]:
        # One connection per call: cheap for SQLite, and never shared between threads.
        db = sqlite3.connect(
            self.root / "index.sqlite3", timeout=self.busy_seconds, isolation_level=None
        )
        db.row_factory = sqlite3.Row
        return contextlib.closing(db)

    def _path(self, tid: str) -> Path:
        return self._tables / f"{tid}.parquet"

    def _row(self, tid: str) -> sqlite3.Row | None:
        with self._connect() as db:
            return db.execute("SELECT * FROM shares WHERE id = ?", (tid,)).fetchone()

    def _raise_if_ended(self, row: sqlite3.Row | None) -> None:
        if row is None:
            raise ShareUnavailable(UNAVAILABLE_MESSAGE)
        state, now = row["state"], self.clock()
        if state == "withdrawn":
            raise ShareWithdrawn(
                f"The data behind this link was withdrawn on {_day(row['ended'])} by the "
                "person who shared it. Ask them for a new link, or choose another data set."
            )
        if state == "evicted":
            raise ShareExpired(
                f"The data behind this link was removed on {_day(row['ended'])} to make room "
                "for newer shared data. Ask the person who shared it for a new link."
            )
        if state == "expired" or now >= row["expires"]:
            days = self.ttl_seconds / DAY
            raise ShareExpired(
                f"The data behind this link expired on {_day(row['expires'])} (shared data "
                f"is kept for {days:g} days). Ask the person who shared it for a new link."
            )

    def _end_expired(self, db: sqlite3.Connection, now: float) -> list[str]:
        ids = [
            r[0]
            for r in db.execute(
                "SELECT id FROM shares WHERE state = 'live' AND expires <= ?", (now,)
            )
        ]
        db.execute(
            "UPDATE shares SET state = 'expired', ended = expires "
            "WHERE state = 'live' AND expires <= ?",
            (now,),
        )
        return ids

    def _evict_for(self, db: sqlite3.Connection, size: int, now: float) -> list[str]:
        """Evict the oldest live tables until ``size`` more bytes fit under the total cap."""
        total = db.execute("SELECT COALESCE(SUM(size), 0) FROM shares WHERE state = 'live'")
        excess = total.fetchone()[0] + size - self.max_total_bytes
        evicted: list[str] = []
        if excess <= 0:
            return evicted
        for tid, table_size in db.execute(
            "SELECT id, size FROM shares WHERE state = 'live' ORDER BY created, rowid"
        ).fetchall():
            if excess <= 0:
                break
            evicted.append(tid)
            excess -= table_size
        db.executemany(
            "UPDATE shares SET state = 'evicted', ended = ? WHERE id = ?",
            [(now, tid) for tid in evicted],
        )
        return evicted

    def _delete_files(self, ids: list[str]) -> None:
        for tid in ids:
            self._path(tid).unlink(missing_ok=True)

    def _sweep_orphans(self, live: set[str]) -> None:
        """Files with no live row (a share that crashed before its row was written)."""
        cutoff = time.time() - _ORPHAN_AGE  # file times are real time, not self.clock
        for path in self._tables.iterdir():
            if path.name.split(".")[0] in live:
                continue
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()


def _meta(row: sqlite3.Row) -> SharedMeta:
    meta = json.loads(row["meta"])
    return SharedMeta(
        name=meta["name"],
        roles=roles_from_json(meta["roles"]),
        created_at=row["created"],
        expires_at=row["expires"],
        size_bytes=row["size"],
        n_rows=meta["n_rows"],
        n_columns=meta["n_columns"],
        digest=meta["digest"],
    )


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE takes the write lock up front, so a read-then-write never
    fails half-way with SQLITE_BUSY (it waits up to the busy timeout instead)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _atomic_write(path: Path, payload: bytes) -> None:
    """Write to a temporary file in the same folder, fsync, then rename into place."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
