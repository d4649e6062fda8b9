"""lib.serve.settings: environment variables -> ShareStore / FitPool arguments."""

from __future__ import annotations

import pytest

from lib.serve.settings import SettingsError, fit_pool_kwargs, share_store_kwargs
from lib.serve.share_store import ShareStore


def test_nothing_set_means_the_defaults():
    assert share_store_kwargs({}) == {}
    assert fit_pool_kwargs({"EXPLORER_FIT_SECONDS": " "}) == {}


def test_share_settings(tmp_path):
    env = {
        "EXPLORER_SHARE_DIR": str(tmp_path / "links"),
        "EXPLORER_SHARE_DAYS": "2",
        "EXPLORER_SHARE_MAX_MB": "8",
        "EXPLORER_SHARE_TOTAL_MB": "100",
    }
    kwargs = share_store_kwargs(env)
    assert kwargs == {
        "root": str(tmp_path / "links"),
        "ttl_seconds": 2 * 86400.0,
        "max_table_bytes": 8 * 1024 * 1024,
        "max_total_bytes": 100 * 1024 * 1024,
    }
    store = ShareStore(**kwargs)
    assert store.root == tmp_path / "links" and store.ttl_seconds == 172800.0


def test_pool_settings():
    env = {"EXPLORER_FIT_WORKERS": "3", "EXPLORER_FIT_SECONDS": "90", "EXPLORER_FIT_MEMORY_GB": "2"}
    assert fit_pool_kwargs(env) == {"workers": 3, "time_limit": 90.0, "memory_limit": 2 * 1024**3}
    assert fit_pool_kwargs({"EXPLORER_FIT_MEMORY_GB": "0"}) == {"memory_limit": None}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EXPLORER_SHARE_DAYS", "a week"),
        ("EXPLORER_SHARE_DAYS", "0"),
        ("EXPLORER_SHARE_MAX_MB", "-1"),
        ("EXPLORER_SHARE_TOTAL_MB", "inf"),
        ("EXPLORER_FIT_WORKERS", "1.5"),
        ("EXPLORER_FIT_SECONDS", "nan"),
        ("EXPLORER_FIT_MEMORY_GB", "-2"),
    ],
)
def test_a_bad_value_names_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        share_store_kwargs({name: value}) if "SHARE" in name else fit_pool_kwargs({name: value})
