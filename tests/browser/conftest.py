"""Fixtures for the end-to-end browser tests: a real Streamlit server and Debian's chromium.

The server runs ``streamlit run app.py`` from the repository root on a free
loopback port; the browser is ``/usr/bin/chromium`` driven by Playwright's sync
API (no browser download: ``playwright install`` is never needed). Every test
that uses these fixtures is skipped with a reason when chromium is missing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_MISSING = "Debian chromium not installed: apt-get install chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 720}
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    """A TCP port on the loopback interface that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().decode().strip() == "ok"
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """Terminate the server's whole process group, then kill it if it lingers."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def streamlit_server(timeout: float = STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Run ``streamlit run app.py`` on a free loopback port; yield its base URL.

    The server is started in its own process group, which is terminated on exit
    (also when the body raises). Server output goes to a log file next to the
    screenshots, and its tail is part of the error if the server never answers.
    """
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    SCREENSHOT_DIR.parent.mkdir(parents=True, exist_ok=True)
    log_path = SCREENSHOT_DIR.parent / "streamlit-server.log"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        HOST,
        "--browser.gatherUsageStats",
        "false",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while not _healthy(base_url):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"streamlit exited with {process.returncode}:\n{_tail(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"streamlit did not answer {base_url}/_stcore/health within "
                        f"{timeout:.0f} s:\n{_tail(log_path)}"
                    )
                time.sleep(0.25)
            yield base_url
        finally:
            _stop(process)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def launch_chromium(playwright):
    """Debian's chromium through Playwright (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(CHROMIUM_MISSING)


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Base URL of a Streamlit server running this app for the whole session."""
    _require_chromium()
    with streamlit_server() as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless chromium for the session (each test gets a fresh context)."""
    _require_chromium()
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, app_url) -> Iterator[object]:
    """A page in a fresh browser context (own cookies, own Streamlit session), 1280x720."""
    context = browser.new_context(viewport=VIEWPORT, base_url=app_url)
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
