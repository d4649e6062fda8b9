"""Classroom load on a local Streamlit server, at the WebSocket level.

Each simulated student is one WebSocket session speaking Streamlit's own
protocol (``streamlit.proto`` BackMsg / ForwardMsg): it asks for the Model page
with ``?random_slope=true``, waits for ``script_finished``, then flips the
"Random slope" toggle and waits again. Times are from sending the request to
the finished page. The page id for the toggle's rerun is taken from the
``navigation`` ForwardMsg (with the id of ``new_session`` Streamlit silently
reruns the Home page).

Bounded by design: localhost only, at most ``MAX_SESSIONS`` sessions, every
wait has a timeout, and the whole run stops after ``--max-seconds``.

Usage::

    python benchmarks/load_test.py --start                 # own server, every scenario
    python benchmarks/load_test.py --url http://127.0.0.1:8501 --scenario together --sessions 30
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
MAX_SESSIONS = 100
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
PAGE = "Model"
QUERY = "random_slope=true"
TOGGLE_KEY = "random_slope"


@dataclass
class SessionResult:
    first: float | None = None  # seconds to the finished Model page
    toggle: float | None = None  # seconds from the toggle to the finished page
    errors: list[str] = field(default_factory=list)
    bytes_received: int = 0


async def _run_until_finished(ws, result: SessionResult, timeout: float) -> dict:
    """Read ForwardMsgs until script_finished; return what the client needs later."""
    seen: dict = {"toggle": None, "page_hash": None, "formulas": set()}
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no script_finished in time")
        raw = await asyncio.wait_for(ws.recv(), remaining)
        result.bytes_received += len(raw)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "navigation":
            seen["page_hash"] = msg.navigation.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            if which == "exception":
                result.errors.append(f"exception: {element.exception.message[:200]}")
            elif which == "checkbox" and element.checkbox.id.endswith(TOGGLE_KEY):
                seen["toggle"] = element.checkbox
            elif which == "code" and " ~ " in element.code.code_text:
                seen["formulas"].add(element.code.code_text.strip())
        elif kind == "script_finished":
            status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
            if status != "FINISHED_SUCCESSFULLY":
                result.errors.append(f"script finished: {status}")
            return seen


async def session(
    base: str, result: SessionResult, toggle: bool, timeout: float, hold: asyncio.Event
) -> None:
    parsed = urlparse(base)
    url = f"ws://{parsed.netloc}/_stcore/stream"
    try:
        async with connect(
            url,
            subprotocols=["streamlit"],
            origin=f"http://{parsed.netloc}",
            max_size=None,
            open_timeout=timeout,
            # A browser sends no WebSocket pings (Streamlit has its own heartbeat); with
            # the server's one core saturated, a ping's 20 s deadline would end sessions.
            ping_interval=None,
        ) as ws:
            start = time.perf_counter()
            back = BackMsg()
            back.rerun_script.query_string = QUERY
            back.rerun_script.page_name = PAGE
            await ws.send(back.SerializeToString())
            seen = await _run_until_finished(ws, result, timeout)
            result.first = time.perf_counter() - start
            if toggle:
                checkbox = seen["toggle"]
                if checkbox is None or not seen["page_hash"]:
                    result.errors.append("no toggle or page id on the page")
                else:
                    back = BackMsg()
                    back.rerun_script.query_string = QUERY
                    back.rerun_script.page_script_hash = seen["page_hash"]
                    state = WidgetState(id=checkbox.id, bool_value=not checkbox.value)
                    back.rerun_script.widget_states.widgets.append(state)
                    start = time.perf_counter()
                    await ws.send(back.SerializeToString())
                    after = await _run_until_finished(ws, result, timeout)
                    result.toggle = time.perf_counter() - start
                    if not after["formulas"] or after["formulas"] == seen["formulas"]:
                        result.errors.append("the toggle did not change the model")
            await hold.wait()  # keep the session open until every student is done
    except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
        result.errors.append(f"{type(exc).__name__}: {exc}"[:200])


def _rss_kb(pids: list[int]) -> int | None:
    """Resident memory of the server processes together (None without pids)."""
    total = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            return None
        total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total if pids else None


def _cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU time of the server processes together (None without pids)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total if pids else None


async def scenario(
    base: str, n: int, spread: float, toggle: bool, timeout: float, pid: list[int]
) -> dict:
    n = min(n, MAX_SESSIONS)
    results = [SessionResult() for _ in range(n)]
    hold = asyncio.Event()
    rss_before, cpu_before = _rss_kb(pid), _cpu_seconds(pid)
    started = time.perf_counter()

    async def delayed(k: int) -> None:
        await asyncio.sleep(spread * k / max(n - 1, 1) if spread else 0.0)
        await session(base, results[k], toggle, timeout, hold)

    tasks = [asyncio.create_task(delayed(k)) for k in range(n)]
    while any(r.first is None and not r.errors for r in results) or (
        toggle and any(r.toggle is None and not r.errors for r in results)
    ):
        await asyncio.sleep(0.05)
        if time.perf_counter() - started > timeout + spread:
            break
    rss_after, cpu_after = _rss_kb(pid), _cpu_seconds(pid)
    hold.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    wall = time.perf_counter() - started
    return {
        "n": n,
        "first": [r.first for r in results if r.first is not None],
        "toggle": [r.toggle for r in results if r.toggle is not None],
        "errors": [e for r in results for e in r.errors],
        "kb_per_session": sum(r.bytes_received for r in results) / n / 1024,
        "rss_per_session_mb": None
        if rss_before is None or rss_after is None
        else (rss_after - rss_before) / 1024 / n,
        "server_cpu_s": None if cpu_before is None else cpu_after - cpu_before,
        "wall_s": wall,
    }


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(name: str, r: dict) -> str:
    def stats(values: list[float]) -> str:
        if not values:
            return "-"
        return f"{statistics.median(values):.2f} / {pct(values, 0.95):.2f}"

    rss = "-" if r["rss_per_session_mb"] is None else f"{r['rss_per_session_mb']:.1f}"
    cpu = "-" if r["server_cpu_s"] is None else f"{r['server_cpu_s']:.1f}"
    return (
        f"| {name} | {r['n']} | {stats(r['first'])} | {stats(r['toggle'])} | "
        f"{len(r['errors'])} | {r['kb_per_session']:.0f} | {rss} | {cpu} |"
    )


HEADER = (
    "| scenario | sessions | page p50 / p95 (s) | toggle p50 / p95 (s) | errors | KB/session "
    "| RSS MB/session | server CPU-s |\n|---|---:|---:|---:|---:|---:|---:|---:|"
)

SCENARIOS = {  # name: (sessions, arrival spread in seconds, toggle)
    "one": (1, 0.0, True),
    "together": (30, 0.0, False),
    "spread": (30, 10.0, True),
    "together60": (60, 0.0, False),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{base} did not become healthy within {seconds:.0f} s")


def start_server(port: int, cwd: Path, python: str = sys.executable) -> subprocess.Popen:
    """``streamlit run app.py`` on ``port``; its log goes to a temporary file.

    Never an unread pipe: once the pipe's 64 KB buffer is full, the server's next log
    line blocks the thread that writes it while it holds the logging lock, and every
    session then hangs (seen when each page run logged a warning with a stack trace).
    """
    command = [python, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    command += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    return subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (localhost only)")
    parser.add_argument("--start", action="store_true", help="start `streamlit run app.py`")
    parser.add_argument("--app-dir", default=str(ROOT), help="with --start: the app to serve")
    parser.add_argument(
        "--pid",
        type=int,
        action="append",
        default=[],
        help="server pid, for memory and CPU (repeat for several processes behind a proxy)",
    )
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--sessions", type=int, help="override the scenario's sessions")
    parser.add_argument("--timeout", type=float, default=120.0, help="per wait, seconds")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="whole run")
    args = parser.parse_args(argv)
    server = None
    if args.start:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(port, Path(args.app_dir))
        pid = [server.pid]
    else:
        base = args.url or "http://127.0.0.1:8501"
        pid = args.pid
    host = urlparse(base).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"load tests run against localhost only, not {host!r}")
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    try:
        wait_healthy(base, 60)
        print(f"# {base}  load average before: {os.getloadavg()}", flush=True)
        print(HEADER, flush=True)

        async def run_all() -> None:
            for name in names:
                n, spread, toggle = SCENARIOS[name]
                n = args.sessions or n
                result = await scenario(base, n, spread, toggle, args.timeout, pid)
                print(report(name, result), flush=True)
                for error in sorted(set(result["errors"]))[:5]:
                    print(f"#   error: {error}", flush=True)
                await asyncio.sleep(2.0 + random.random())  # let the server settle

        asyncio.run(asyncio.wait_for(run_all(), args.max_seconds))
        print(f"# load average after: {os.getloadavg()}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
