"""What the share store keeps and returns: value types, errors, and the conversions
of a table to Parquet bytes and of roles to JSON (``lib.serve.share_store`` stores them).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lib.errors import ExplorerError
from lib.model.spec import GroupLevel
from lib.table.roles import Roles

UNAVAILABLE_MESSAGE = (
    "This link's data is not available: it has expired, was withdrawn, or the link is "
    "incomplete. Ask the person who shared it for a new link, or choose another data set."
)


class ShareError(ExplorerError):
    """A table cannot be shared, or a shared link cannot be used."""


class ShareUnavailable(ShareError):
    """The link's data cannot be opened (unknown, malformed, ended or damaged)."""


class ShareWithdrawn(ShareUnavailable):
    """The person who shared the data stopped sharing it."""


class ShareExpired(ShareUnavailable):
    """The link outlived the store's time limit, or was evicted to make room."""


class ShareTooLarge(ShareError):
    """The table is bigger than the store accepts."""


class ShareNotOwner(ShareError):
    """``withdraw`` was asked without the secret returned when the data was shared."""


@dataclass(frozen=True)
class ShareReceipt:
    """What the uploader's session keeps: the link's token and the secret to withdraw it."""

    token: str
    owner_secret: str
    expires_at: float


@dataclass(frozen=True)
class SharedMeta:
    """What a link's page may show about the data besides the table itself."""

    name: str
    roles: Roles | None
    created_at: float
    expires_at: float
    size_bytes: int
    n_rows: int
    n_columns: int
    digest: str  # sha256 of the Parquet bytes


@dataclass(frozen=True)
class SharedTable:
    frame: pd.DataFrame
    meta: SharedMeta


@dataclass(frozen=True)
class StoreUsage:
    """Counts only: the store has no call that lists tokens."""

    live_tables: int
    live_bytes: int


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    if not isinstance(frame, pd.DataFrame):
        raise ShareError(f"Only a table (DataFrame) can be shared, got {type(frame).__name__}.")
    try:
        table = pa.Table.from_pandas(frame)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
        raise ShareError(
            f"This table cannot be stored for sharing: {exc}. A column that mixes numbers "
            "and text is the usual cause; make it all text or all numbers."
        ) from None
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def clean_name(name: object) -> str:
    """The file name as metadata: text without control characters, at most 200 long."""
    text = "".join(ch for ch in str(name) if ch.isprintable())
    return text[:200] or "shared data"


def roles_to_json(roles: Roles | None) -> dict[str, object] | None:
    if roles is None:
        return None
    return {
        "outcome": roles.outcome,
        "predictor": roles.predictor,
        "group": roles.group,
        "covariates": list(roles.covariates),
        "levels": [{"column": lv.column, "relation": lv.relation} for lv in roles.levels],
    }


def roles_from_json(data: Mapping[str, object] | None) -> Roles | None:
    if data is None:
        return None
    return Roles(
        outcome=data["outcome"],
        predictor=data["predictor"],
        group=data["group"],
        covariates=tuple(data["covariates"]),
        levels=tuple(GroupLevel(lv["column"], lv["relation"]) for lv in data["levels"]),
    )
