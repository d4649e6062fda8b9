"""Classroom load on a local Streamlit server, at the WebSocket level.

Each simulated student is one WebSocket session speaking Streamlit's own
protocol (``streamlit.proto`` BackMsg / ForwardMsg): it asks for the Model page
with ``?random_slope=true``, waits for ``script_finished``, then may flip the
"Random slope" toggle and wait again. Times are from sending the request to
the finished page. The page id for the toggle's rerun is taken from the
``navigation`` ForwardMsg (with the id of ``new_session`` Streamlit silently
reruns the Home page). An exception or an error message on a page counts as an
error.

Scenarios: ``one``; ``together`` (30 at once); ``spread`` (30 over 10 s, each
toggles); ``toggles`` (30 open the page, then all flip the toggle at the same
moment); ``busy`` (a server of its own with ``EXPLORER_TEST_SLOW_FIT=40``: 30
together, then 30 together while one more session waits for a 40-second fit);
``together60``; ``restart`` (30 together on a shared link, the server restarted
mid-burst: each session reconnects and reruns from its URL, as a browser does, and
must get its page, with the shared data, from the new server). ``busy`` and
``restart`` need ``--start``. Each row gives ``uptime``'s load average at its start.

Bounded by design: localhost only, at most ``MAX_SESSIONS`` sessions, every wait
has a timeout, and the whole run stops after ``--max-seconds``.

Usage::

    python benchmarks/load_test.py --start                 # own server, every scenario
    python benchmarks/load_test.py --start --scenario toggles --scenario busy
    python benchmarks/load_test.py --url http://127.0.0.1:8501 --scenario together
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
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

from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

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
    reconnects: int = 0  # connections the server closed (a restart), then opened again


@dataclass(frozen=True)
class Scenario:
    """One burst: how many students, how they arrive, what they do.

    toggle: "no", "each" (each flips the toggle as soon as its page is there) or
    "together" (all flip it at the same moment, once every page is there).
    slow_fit: one more session first asks for a fit that takes ``SLOW_FIT_SECONDS``
    (a server started with ``EXPLORER_TEST_SLOW_FIT``); the burst starts while it runs.
    restart_after: restart the server this many seconds into the burst; every session
    then reconnects and reruns from its URL, as a browser does.
    """

    sessions: int
    spread: float = 0.0
    toggle: str = "no"
    slow_fit: bool = False
    restart_after: float | None = None


class Closed(Exception):
    """The server closed the connection (a restart): reconnect, not an error."""


async def _run_until_finished(ws, result: SessionResult, timeout: float) -> dict:
    """Read ForwardMsgs until script_finished; return what the client needs later."""
    seen: dict = {"toggle": None, "page_hash": None, "formulas": set()}
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no script_finished in time")
        try:
            raw = await asyncio.wait_for(ws.recv(), remaining)
        except ConnectionClosed as exc:
            raise Closed(str(exc)) from None
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
            elif which == "alert" and element.alert.format == Alert.Format.ERROR:
                result.errors.append(f"error shown: {element.alert.body[:200]}")
            elif which == "checkbox" and element.checkbox.id.endswith(TOGGLE_KEY):
                seen["toggle"] = element.checkbox
            elif which == "code" and " ~ " in element.code.code_text:
                seen["formulas"].add(element.code.code_text.strip())
        elif kind == "script_finished":
            status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
            if status != "FINISHED_SUCCESSFULLY":
                result.errors.append(f"script finished: {status}")
            return seen


def _connect(base: str, timeout: float):  # noqa: ANN202 - websockets' connect object
    parsed = urlparse(base)
    return connect(
        f"ws://{parsed.netloc}/_stcore/stream",
        subprotocols=["streamlit"],
        origin=f"http://{parsed.netloc}",
        max_size=None,
        open_timeout=timeout,
        # A browser sends no WebSocket pings (Streamlit has its own heartbeat); with
        # the server's one core saturated, a ping's 20 s deadline would end sessions.
        ping_interval=None,
    )


async def _open_page(ws, query: str, result: SessionResult, timeout: float) -> dict:
    back = BackMsg()
    back.rerun_script.query_string = query
    back.rerun_script.page_name = PAGE
    await ws.send(back.SerializeToString())
    return await _run_until_finished(ws, result, timeout)


async def _flip(ws, query: str, seen: dict, result: SessionResult, timeout: float) -> None:
    """Flip the toggle; record the time to the finished page."""
    checkbox = seen["toggle"]
    if checkbox is None or not seen["page_hash"]:
        result.errors.append("no toggle or page id on the page")
        return
    back = BackMsg()
    back.rerun_script.query_string = query
    back.rerun_script.page_script_hash = seen["page_hash"]
    state = WidgetState(id=checkbox.id, bool_value=not checkbox.value)
    back.rerun_script.widget_states.widgets.append(state)
    start = time.perf_counter()
    await ws.send(back.SerializeToString())
    after = await _run_until_finished(ws, result, timeout)
    result.toggle = time.perf_counter() - start
    if not after["formulas"] or after["formulas"] == seen["formulas"]:
        result.errors.append("the toggle did not change the model")


@dataclass
class Burst:
    """What the sessions of one scenario share."""

    base: str
    query: str
    timeout: float
    hold: asyncio.Event  # set when every student is done: sessions may close
    ready: asyncio.Event | None = None  # toggle="together": set when every page is there
    restarted: asyncio.Event | None = None  # restart scenario: set once the server is back
    expect: str | None = None  # text every formula on the page must contain


async def _until_restarted(ws, burst: Burst, result: SessionResult) -> None:
    """Wait for the restart: the server closes this connection (``Closed`` is raised,
    the caller reconnects), unless it was already to the new server."""
    closing = asyncio.ensure_future(_run_until_finished(ws, result, burst.timeout))
    back = asyncio.ensure_future(burst.restarted.wait())
    done, pending = await asyncio.wait({closing, back}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if closing in done:
        closing.result()


async def session(burst: Burst, result: SessionResult, toggle: str) -> None:
    """One student: open the page, maybe flip the toggle, stay until the burst ends.

    In a restart scenario the student reconnects whenever the server closes the
    connection and asks for the page again (what Streamlit's browser client does), and
    is done only with a page served after the restart.
    """
    start = time.perf_counter()
    deadline = time.monotonic() + burst.timeout
    while True:
        try:
            async with _connect(burst.base, burst.timeout) as ws:
                seen = await _open_page(ws, burst.query, result, burst.timeout)
                if burst.expect and not all(burst.expect in f for f in seen["formulas"] or [""]):
                    result.errors.append(f"the page does not show {burst.expect!r}")
                if burst.restarted is not None and not burst.restarted.is_set():
                    await _until_restarted(ws, burst, result)
                result.first = time.perf_counter() - start
                if toggle == "each":
                    await _flip(ws, burst.query, seen, result, burst.timeout)
                elif toggle == "together":
                    result.toggle = -1.0  # ready, not yet flipped
                    await burst.ready.wait()
                    result.toggle = None
                    await _flip(ws, burst.query, seen, result, burst.timeout)
                await burst.hold.wait()  # keep the session open until every student is done
                return
        except (Closed, ConnectionClosed, OSError) as exc:
            if burst.restarted is None or time.monotonic() > deadline:
                result.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                return
            result.reconnects += 1
            await asyncio.sleep(0.5)  # the browser client retries after a short back-off
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            result.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return


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
    base: str,
    spec: Scenario,
    timeout: float,
    pid: list[int],
    *,
    query: str = QUERY,
    expect: str | None = None,
    restart=None,  # noqa: ANN001 - async callable that restarts the server (restart scenario)
) -> dict:
    n = min(spec.sessions, MAX_SESSIONS)
    results = [SessionResult() for _ in range(n)]
    burst = Burst(
        base=base,
        query=query,
        timeout=timeout,
        hold=asyncio.Event(),
        ready=asyncio.Event() if spec.toggle == "together" else None,
        restarted=asyncio.Event() if spec.restart_after is not None else None,
        expect=expect,
    )
    load = os.getloadavg()[0]
    slow = None
    if spec.slow_fit:
        slow = SessionResult()
        slow_burst = Burst(base, SLOW_QUERY, timeout, burst.hold)
        slow_task = asyncio.create_task(session(slow_burst, slow, "no"))
        await asyncio.sleep(3.0)  # the slow fit is running in a worker by now
    rss_before, cpu_before = _rss_kb(pid), _cpu_seconds(pid)
    cpu_at_toggle: list[float | None] = []  # the server's CPU when every student flips
    started = time.perf_counter()

    async def delayed(k: int) -> None:
        await asyncio.sleep(spec.spread * k / max(n - 1, 1) if spec.spread else 0.0)
        await session(burst, results[k], spec.toggle)

    tasks = [asyncio.create_task(delayed(k)) for k in range(n)]
    if restart is not None:
        await asyncio.sleep(spec.restart_after)
        await restart()
        burst.restarted.set()

    def waiting() -> bool:
        pages = any(r.first is None and not r.errors for r in results)
        if spec.toggle == "no":
            return pages
        if spec.toggle == "together" and not pages and not burst.ready.is_set():
            cpu_at_toggle.append(_cpu_seconds(pid))
            burst.ready.set()  # every page is there: all flip the toggle now
        return pages or any((r.toggle is None or r.toggle < 0) and not r.errors for r in results)

    while waiting():
        await asyncio.sleep(0.01)
        if time.perf_counter() - started > timeout + spec.spread:
            break
    rss_after, cpu_after = _rss_kb(pid), _cpu_seconds(pid)
    if slow is not None:  # the slow fit must still be running, or the test proved nothing
        slow_still_running = slow.first is None and not slow.errors
        await asyncio.wait_for(asyncio.shield(_until_done(slow)), timeout)
    burst.hold.set()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    if slow is not None:
        await asyncio.wait_for(asyncio.gather(slow_task, return_exceptions=True), timeout)
    wall = time.perf_counter() - started
    return {
        "n": n,
        "load": load,
        "first": [r.first for r in results if r.first is not None],
        "toggle": [r.toggle for r in results if r.toggle is not None and r.toggle >= 0],
        "errors": [e for r in results for e in r.errors] + (slow.errors if slow else []),
        "reconnects": sum(r.reconnects for r in results),
        "kb_per_session": sum(r.bytes_received for r in results) / n / 1024,
        "rss_per_session_mb": None
        if rss_before is None or rss_after is None
        else (rss_after - rss_before) / 1024 / n,
        "server_cpu_s": None if cpu_before is None else cpu_after - cpu_before,
        # Server CPU per toggle rerun (ms): what 30 reruns at once cost the one core that
        # runs every page script, measured from the moment all flip to the last page.
        "toggle_cpu_ms": None
        if not cpu_at_toggle or cpu_at_toggle[0] is None
        else (cpu_after - cpu_at_toggle[0]) * 1000 / n,
        "wall_s": wall,
        "slow_fit_s": None if slow is None else slow.first,
        "slow_fit_overlapped": None if slow is None else slow_still_running,
    }


async def _until_done(result: SessionResult) -> None:
    while result.first is None and not result.errors:
        await asyncio.sleep(0.1)


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
    toggle_cpu = "-" if r.get("toggle_cpu_ms") is None else f"{r['toggle_cpu_ms']:.0f}"
    return (
        f"| {name} | {r['load']:.2f} | {r['n']} | {stats(r['first'])} | {stats(r['toggle'])} | "
        f"{len(r['errors'])} | {r['reconnects']} | {r['kb_per_session']:.0f} | {rss} | {cpu} "
        f"| {toggle_cpu} |"
    )


HEADER = (
    "| scenario | load avg | sessions | page p50 / p95 (s) | toggle p50 / p95 (s) | errors "
    "| reconnect attempts | KB/session | RSS MB/session | server CPU-s "
    "| server CPU ms/toggle |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)

SCENARIOS = {
    "one": Scenario(1, toggle="each"),
    "together": Scenario(30),
    "spread": Scenario(30, spread=10.0, toggle="each"),
    "toggles": Scenario(30, spread=3.0, toggle="together"),
    "busy": Scenario(30, slow_fit=True),  # own server: EXPLORER_TEST_SLOW_FIT
    "together60": Scenario(60),
    "restart": Scenario(30, restart_after=0.7),  # own server, restarted mid-burst
}
OWN_SERVER = ("busy", "restart")  # need --start
SLOW_FIT_SECONDS = 40.0
# The slow session asks for a model nobody else does (ML instead of REML): a cache miss.
SLOW_QUERY = f"{QUERY}&method=ML"
# The restart scenario's students open a shared link to the tutorial's table under other
# column names, so a page that fell back to the bundled data is told apart.
SHARED_COLUMNS = {"school": "campus", "study_time": "hours", "test_score": "exam"}


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


def start_server(
    port: int, cwd: Path, python: str = sys.executable, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """``streamlit run app.py`` on ``port``; its log goes to a temporary file.

    Never an unread pipe: once the pipe's 64 KB buffer is full, the server's next log
    line blocks the thread that writes it while it holds the logging lock, and every
    session then hangs (seen when each page run logged a warning with a stack trace).
    """
    command = [python, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    command += ["--server.address", "127.0.0.1", "--server.port", str(port)]
    path = os.environ.get("LOAD_TEST_SERVER_LOG")  # to read the server's log afterwards
    log = open(path, "ab") if path else tempfile.TemporaryFile()  # noqa: SIM115
    return subprocess.Popen(
        command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )


class Server:
    """A server this script started (and may restart on the same port)."""

    def __init__(self, app_dir: Path, env: dict[str, str]) -> None:
        self.app_dir, self.env = app_dir, env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = start_server(self.port, self.app_dir, env=self.env)
        wait_healthy(self.base, 60)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None else []


def share_for_restart(share_dir: str) -> tuple[str, str]:
    """A shared link's query and the text its formulas show (the renamed outcome)."""
    sys.path.insert(0, str(ROOT))
    from lib.serve.share_store import ShareStore
    from lib.table.catalogue import load_bundled
    from lib.table.roles import Roles

    frame = load_bundled("schools").rename(columns=SHARED_COLUMNS)
    roles = Roles(outcome="exam", predictor="hours", group="campus")
    receipt = ShareStore(share_dir).share(frame, name="class.csv", roles=roles)
    return f"data=shared:{receipt.token}&{QUERY}", "exam ~ "


async def _print(name: str, result: dict) -> None:
    print(report(name, result), flush=True)
    if result.get("slow_fit_s") is not None:
        print(
            f"#   the slow fit's page took {result['slow_fit_s']:.1f} s; still running when "
            f"the burst ended: {result['slow_fit_overlapped']}",
            flush=True,
        )
    for error in sorted(set(result["errors"]))[:5]:
        print(f"#   error: {error}", flush=True)
    await asyncio.sleep(2.0 + random.random())  # let the server settle


async def run_busy(app_dir: Path, share_dir: str, sessions: int | None, timeout: float) -> None:
    """30 together on a server whose fits take 40 s more, without and then while one
    session's fit runs (the 30 pages' own fit is cached first)."""
    slow = Server(
        app_dir,
        {"EXPLORER_SHARE_DIR": share_dir, "EXPLORER_TEST_SLOW_FIT": f"{SLOW_FIT_SECONDS:g}"},
    )
    await asyncio.to_thread(slow.start)
    try:
        warm = await scenario(slow.base, Scenario(1), timeout, slow.pids)
        if warm["errors"]:
            print(f"# busy: warming failed: {warm['errors'][:2]}", flush=True)
            return
        spec = SCENARIOS["busy"]
        n = sessions or spec.sessions
        quiet = await scenario(slow.base, Scenario(n), timeout, slow.pids)
        await _print("busy: no fit running", quiet)
        result = await scenario(slow.base, Scenario(n, slow_fit=True), timeout, slow.pids)
        await _print(f"busy: a {SLOW_FIT_SECONDS:g}-s fit running", result)
    finally:
        await asyncio.to_thread(slow.stop)


async def run_restart(server: Server, share_dir: str, sessions: int | None, timeout: float):  # noqa: ANN201
    query, expect = share_for_restart(share_dir)
    spec = SCENARIOS["restart"]
    spec = Scenario(sessions or spec.sessions, restart_after=spec.restart_after)

    async def restart() -> None:
        await asyncio.to_thread(server.restart)

    result = await scenario(
        server.base, spec, timeout, [], query=query, expect=expect, restart=restart
    )
    await _print("restart (shared link)", result)


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
    parser.add_argument(
        "--scenario", choices=[*SCENARIOS, "all"], action="append", help="repeatable"
    )
    parser.add_argument("--sessions", type=int, help="override the scenario's sessions")
    parser.add_argument("--timeout", type=float, default=120.0, help="per wait, seconds")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="whole run")
    args = parser.parse_args(argv)
    names = list(SCENARIOS) if not args.scenario or "all" in args.scenario else args.scenario
    if not args.start and any(name in OWN_SERVER for name in names):
        skipped = [name for name in names if name in OWN_SERVER]
        print(f"# {', '.join(skipped)}: need --start (a server of their own); left out")
        names = [name for name in names if name not in OWN_SERVER]
    share_dir = tempfile.mkdtemp(prefix="load-test-share-")
    server = None
    if args.start:
        server = Server(Path(args.app_dir), {"EXPLORER_SHARE_DIR": share_dir})
        base = server.base
    else:
        base = args.url or "http://127.0.0.1:8501"
    host = urlparse(base).hostname
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"load tests run against localhost only, not {host!r}")
    try:
        if server is not None:
            server.start()
        else:
            wait_healthy(base, 60)
        print(f"# {base}  load average before: {os.getloadavg()}", flush=True)
        print(HEADER, flush=True)

        async def run_all() -> None:
            for name in names:
                if name == "busy":
                    await run_busy(Path(args.app_dir), share_dir, args.sessions, args.timeout)
                    continue
                if name == "restart":
                    await run_restart(server, share_dir, args.sessions, args.timeout)
                    continue
                spec = SCENARIOS[name]
                if args.sessions and spec.sessions > 1:
                    spec = Scenario(args.sessions, spec.spread, spec.toggle)
                pids = server.pids if server is not None else args.pid
                await _print(name, await scenario(base, spec, args.timeout, pids))

        asyncio.run(asyncio.wait_for(run_all(), args.max_seconds))
        print(f"# load average after: {os.getloadavg()}", flush=True)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(share_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
