"""The server's knobs for sharing and the fit pool, read from environment variables.

Pure parsing (the app passes ``os.environ``); each function returns keyword
arguments for ``ShareStore`` / ``FitPool``, leaving out what is not set so their
own defaults apply. A value that does not parse is an error naming the variable,
so a typo in a deployment is seen at start-up instead of silently ignored.

==========================  ============================================  =================
variable                    meaning                                       default
==========================  ============================================  =================
EXPLORER_SHARE_DIR          folder of shared tables (all server           ~/.cache/multilevel-
                            processes must use the same one)              explorer/shared
EXPLORER_SHARE_DAYS         how long a link works                         7
EXPLORER_SHARE_MAX_MB       largest shared table (Parquet MiB)            64
EXPLORER_SHARE_TOTAL_MB     all live shared tables together (MiB)         1024
EXPLORER_FIT_WORKERS        fit worker processes                          number of cores
EXPLORER_FIT_SECONDS        time limit of one fit                         60
EXPLORER_FIT_MEMORY_GB      address-space limit per worker (0: none)      4
==========================  ============================================  =================
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from lib.errors import ExplorerError


class SettingsError(ExplorerError):
    """An environment variable holds a value the server cannot use."""


def _number(env: Mapping[str, str], name: str, *, allow_zero: bool = False) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        allowed = "a number, 0 or more" if allow_zero else "a positive number"
        raise SettingsError(f"{name} must be {allowed}, got {raw[:40]!r}.")
    return value


def share_store_kwargs(env: Mapping[str, str]) -> dict[str, object]:
    """Keyword arguments for ``ShareStore`` from ``EXPLORER_SHARE_*``."""
    kwargs: dict[str, object] = {}
    if env.get("EXPLORER_SHARE_DIR", "").strip():
        kwargs["root"] = env["EXPLORER_SHARE_DIR"].strip()
    if (days := _number(env, "EXPLORER_SHARE_DAYS")) is not None:
        kwargs["ttl_seconds"] = days * 86400.0
    if (mb := _number(env, "EXPLORER_SHARE_MAX_MB")) is not None:
        kwargs["max_table_bytes"] = int(mb * 1024 * 1024)
    if (mb := _number(env, "EXPLORER_SHARE_TOTAL_MB")) is not None:
        kwargs["max_total_bytes"] = int(mb * 1024 * 1024)
    return kwargs


def fit_pool_kwargs(env: Mapping[str, str]) -> dict[str, object]:
    """Keyword arguments for ``FitPool`` from ``EXPLORER_FIT_*``."""
    kwargs: dict[str, object] = {}
    if (workers := _number(env, "EXPLORER_FIT_WORKERS")) is not None:
        if workers != int(workers):
            raise SettingsError(f"EXPLORER_FIT_WORKERS must be a whole number, got {workers:g}.")
        kwargs["workers"] = int(workers)
    if (seconds := _number(env, "EXPLORER_FIT_SECONDS")) is not None:
        kwargs["time_limit"] = seconds
    if (gb := _number(env, "EXPLORER_FIT_MEMORY_GB", allow_zero=True)) is not None:
        kwargs["memory_limit"] = int(gb * 1024**3) or None
    return kwargs
