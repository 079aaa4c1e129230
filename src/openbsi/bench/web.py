"""`openbsi bench web`: the clinic app under load, measured on loopback.

One run: `openbsi serve` in its own process on a fresh data dir, a virtual session started from
the API (its own process too), and three phases on the session's timeline:
1. unwatched: nobody reads the live view;
2. watched: headless Chromium shows the live page while N clients each hold the live view's
   event stream open and read the session list twice a second;
3. emergency stop clicked in the page; then further short sessions, one stop each.
Figures: SSE event-to-page latency (a decode record's write time, from the session process's
monotonic stamp, to its arrival in the page, measured in the browser on the same wall clock),
the list's response times and errors under load, click-to-confirmed-zero-output of the stop,
and the loop's end-to-end latency p99 in phases 1 and 2 of the same run.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from openbsi.bench.common import OPENBSI, child_env, load_average, ratio, summary
from openbsi.store.session_log import LOG_NAME
from openbsi.web.live import LogTail

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROLE = "clinician"


def _stats(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), **summary(values)}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`openbsi serve` in a subprocess with one clinician account and seeded records."""

    def __init__(self, data_dir: Path, models_dir: Path | None) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(16)
        self.models_dir = models_dir
        self.process: subprocess.Popen | None = None

    def add_user(self, name: str, role: str, *extra: str) -> None:
        """`openbsi admin create-user` with the server's password (before or while it runs)."""
        subprocess.run(
            [*OPENBSI, "admin", "create-user", name, "--role", role, *extra,
             "--data-dir", str(self.data_dir), "--password-stdin"],
            input=self.password + "\n",
            text=True,
            check=True,
            capture_output=True,
            timeout=120,
            env=child_env(),
        )  # fmt: skip

    def login(self, name: str) -> httpx.Client:
        http = httpx.Client(base_url=self.url, timeout=30)
        login = http.post("/api/login", json={"username": name, "password": self.password})
        login.raise_for_status()
        http.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        return http

    def __enter__(self) -> Server:
        self.add_user(ROLE, ROLE, "--full-name", "Bench User")
        env = child_env()
        self.process = subprocess.Popen(
            [*OPENBSI, "serve", "--data-dir", str(self.data_dir), "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("openbsi serve did not start within 60 s")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def client(self) -> httpx.Client:
        return self.login(ROLE)


def run_bench(
    *,
    load_s: float = 60.0,
    unwatched_s: float = 30.0,
    clients: int = 50,
    estop_trials: int = 3,
    work_dir: Path | None = None,
    progress=print,
) -> dict[str, Any]:
    """Run the whole benchmark; returns the figures (null where one could not be measured)."""
    from playwright.sync_api import sync_playwright

    work = Path(work_dir or tempfile.mkdtemp(prefix="obsi-bench-web-"))
    with Server(work / "clinic", None) as server:
        http = server.client()
        records = _seed_all(server, http)
        session_s = unwatched_s + load_s + 90.0  # margin: browser start-up on a busy machine
        progress(f"session of {session_s:.0f} s; calibrating the decoder model if needed")
        session_id = _start(http, records, session_s)
        run_dir = work / "clinic" / "runs" / f"session-{session_id:05d}"
        _wait(lambda: _first_decode(run_dir), 900, "the session's first decode")
        progress(f"unwatched phase {unwatched_s:.0f} s")
        unwatched = (time.monotonic_ns(), None)
        time.sleep(unwatched_s)
        unwatched = (unwatched[0], time.monotonic_ns())
        offset_ns = time.time_ns() - time.monotonic_ns()  # CLOCK_REALTIME - CLOCK_MONOTONIC
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = _login_page(browser, server)
            page.goto(f"{server.url}/sessions/{session_id}/live")
            page.wait_for_function("() => window.__obsiArrivals.length > 0", timeout=60_000)
            progress(f"watched phase {load_s:.0f} s: browser + {clients} clients")
            watched_start = time.monotonic_ns()
            load = _in_thread(_load(server, http.cookies, session_id, clients, load_s))
            watched = (watched_start, time.monotonic_ns())
            arrivals = page.evaluate("() => window.__obsiArrivals")
            estops = [_click_estop(page)]
            browser_page_ms = _event_to_page_ms(run_dir, arrivals, offset_ns, watched)
            for trial in range(estop_trials):
                progress(f"e-stop trial {trial + 2}")
                sid = _start(http, records, 20.0)
                _wait(
                    lambda s=sid: _first_decode(work / "clinic" / "runs" / f"session-{s:05d}"),
                    300,
                    "a trial session",
                )
                page.goto(f"{server.url}/sessions/{sid}/live")
                page.wait_for_function("() => window.__obsiArrivals.length > 5", timeout=60_000)
                estops.append(_click_estop(page))
            browser.close()
        _wait(lambda: _status(http, session_id) in ("finished", "failed"), 600, "the session end")
        loop = _loop_latency(run_dir, unwatched, watched)
    return {
        "load_clients": clients,
        "load_s": load_s,
        "sse_event_to_page_ms": _stats(browser_page_ms),
        "session_list_ms": _stats(load["list_ms"]),
        "live_events_per_client": load["events_per_client"],
        "errors": load["errors"],
        "error_kinds": load["error_kinds"],
        "estop_click_to_confirmed_zero_ms": _stats([e for e in estops if e is not None]),
        "estop_unconfirmed": sum(e is None for e in estops),
        "loop_end_to_end_ms": loop,
        "loop_p99_change_watched": _ratio(loop),
        "load_average": load_average(),
    }


def _in_thread(coroutine) -> dict:
    """Run the load clients' event loop in a thread (Playwright's sync API owns this one)."""
    import threading

    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(asyncio.run(coroutine)))
    thread.start()
    thread.join()
    return result


def _seed_all(server: Server, http: httpx.Client) -> dict:
    """A virtual patient, a paddle (made through an engineer account) and an approved program."""
    from openbsi.stimulation.program import default_paddle_program, dump_program

    server.add_user("engineer", "engineer")
    engineer = server.login("engineer")
    device = engineer.post("/api/devices", json={"name": "paddle-bench", "kind": "paddle"}).json()
    program = engineer.post(
        "/api/programs",
        json={
            "name": "walking",
            "device_id": device["id"],
            "yaml_text": dump_program(default_paddle_program()),
        },
    ).json()
    patient = http.post(
        "/api/patients",
        json={"pseudonym": "BENCH-1", "kind": "virtual", "injury_level": "C5", "ais": "C"},
    ).json()
    base = f"/api/programs/{program['id']}/versions/1"
    http.post(f"{base}/validate", json={}).raise_for_status()
    http.post(
        f"{base}/approve",
        json={"printed_name": "Bench User", "meaning": "approval", "password": server.password},
    ).raise_for_status()
    return {"patient_id": patient["id"], "program_id": program["id"]}


def _start(http: httpx.Client, records: dict, seconds: float) -> int:
    response = http.post(
        "/api/sessions",
        json={
            **records,
            "version": 1,
            "seconds": seconds,
            "subject_sex": "U",
            "subject_age_years": 40,
            "experimenter": "bench",
            "institution": "bench",
        },
    )
    response.raise_for_status()
    return response.json()["id"]


def _status(http: httpx.Client, session_id: int) -> str:
    return http.get(f"/api/sessions/{session_id}").json()["status"]


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def _first_decode(run_dir: Path) -> bool:
    path = run_dir / LOG_NAME
    return path.is_file() and any(e["type"] == "decode" for e in LogTail(path).read_new())


def _login_page(browser, server: Server):
    page = browser.new_page()
    page.goto(f"{server.url}/login")
    page.fill("#username", ROLE)
    page.fill("#password", server.password)
    page.click("#login-button")
    page.wait_for_url("**/sessions")
    return page


def _click_estop(page) -> float | None:
    page.click("#estop")
    try:
        page.wait_for_selector("#estop-result:has-text('All stimulation OFF')", timeout=5000)
    except Exception:
        return None
    return float(page.evaluate("() => window.__obsiEstopMs"))


async def _load(server: Server, cookies, session_id: int, n: int, seconds: float) -> dict:
    """n clients: each holds the live stream open and reads the session list at 2 Hz."""
    list_ms: list[float] = []
    events = [0] * n
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    jar = dict(cookies)

    async def stream(i: int, client: httpx.AsyncClient) -> None:
        try:
            async with client.stream("GET", f"/api/sessions/{session_id}/live") as response:
                if response.status_code != 200:
                    errors.append(f"live HTTP {response.status_code}")
                    return
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        events[i] += 1
                    if time.monotonic() > stop_at:
                        return
        except httpx.HTTPError as error:
            errors.append(f"live {type(error).__name__}")

    async def poll(client: httpx.AsyncClient) -> None:
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                response = await client.get("/api/sessions")
                if response.status_code != 200:
                    errors.append(f"list HTTP {response.status_code}")
            except httpx.HTTPError as error:
                errors.append(f"list {type(error).__name__}")
            list_ms.append((time.perf_counter() - started) * 1e3)
            await asyncio.sleep(0.5)

    limits = httpx.Limits(max_connections=4)
    clients = [
        httpx.AsyncClient(base_url=server.url, cookies=jar, timeout=30, limits=limits)
        for _ in range(n)
    ]
    try:
        await asyncio.gather(*(t for i, c in enumerate(clients) for t in (stream(i, c), poll(c))))
    finally:
        for client in clients:
            await client.aclose()
    return {
        "list_ms": list_ms,
        "events_per_client": _stats([float(e) for e in events]),
        "errors": len(errors),
        "error_kinds": sorted(set(errors)),
    }


def _all_events(path: Path) -> list[dict]:
    """Every event of a log (LogTail reads at most 4 MB a call)."""
    tail, out = LogTail(path), []
    while True:
        before = tail.offset
        out += tail.read_new()
        if tail.offset == before:
            return out


def _decode_write_ns(run_dir: Path) -> dict[float, int]:
    """Each decode's t_s -> the monotonic stamp taken just before its tick's records are
    written (the "stimulated" stamp of the LATENCY record that follows it in the log)."""
    out: dict[float, int] = {}
    pending: float | None = None
    for event in _all_events(run_dir / LOG_NAME):
        if event["type"] == "decode":
            pending = event["t_s"]
        elif event["type"] == "latency" and pending is not None:
            out[pending] = event["stamps_ns"]["stimulated"]
            pending = None
    return out


def _event_to_page_ms(run_dir, arrivals, offset_ns: int, window) -> list[float]:
    written = _decode_write_ns(run_dir)
    out = []
    for arrival in arrivals:
        stamp = written.get(arrival["t_s"])
        if stamp is None or not window[0] <= stamp <= window[1]:
            continue
        out.append(arrival["wall_ms"] - (stamp + offset_ns) / 1e6)
    return out


def _loop_latency(run_dir: Path, unwatched, watched) -> dict[str, Any]:
    phases: dict[str, list[float]] = {"unwatched": [], "watched": []}
    for event in _all_events(run_dir / LOG_NAME):
        if event["type"] != "latency" or "end_to_end" not in event["hops_ms"]:
            continue
        stamp = event["stamps_ns"]["acquired"]
        for name, (start, stop) in (("unwatched", unwatched), ("watched", watched)):
            if start <= stamp <= stop:
                phases[name].append(event["hops_ms"]["end_to_end"])
    return {name: _stats(values) for name, values in phases.items()}


def _ratio(loop: dict) -> float | None:
    """Relative change of the loop's p99 while watched, against unwatched in the same run."""
    watched = ratio(loop["watched"]["p99"], loop["unwatched"]["p99"])
    return None if watched is None else watched - 1.0
