"""The server settings that a classroom burst depends on (benchmarks/README.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from streamlit import config

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def _settings() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def test_no_full_garbage_collection_after_every_run() -> None:
    # gc.collect(2) after each run cost more CPU than the Model page itself.
    assert _settings()["runner"]["postScriptGC"] is False


def test_no_file_watcher() -> None:
    # A watcher walks every imported module on each new session's first run.
    assert _settings()["server"]["fileWatcherType"] == "none"


def test_every_setting_is_an_option_streamlit_knows() -> None:
    # A misspelt option is ignored with only a log line; check the names against
    # Streamlit's own option table.
    known = set(config._config_options_template)
    for section, values in _settings().items():
        for name, value in values.items():
            if isinstance(value, dict):  # [theme.sidebar]
                for sub in value:
                    assert f"{section}.{name}.{sub}" in known, (section, name, sub)
            else:
                assert f"{section}.{name}" in known, (section, name)
