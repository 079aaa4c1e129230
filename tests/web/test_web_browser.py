"""The clinic app in real headless Chromium (Debian `chromium` driven by Playwright): log in as
each role, refuse an unsafe program at its field, approve with a signature, start a virtual
session and watch its decoded state change live, stop all stimulation, review and verify the
recording, read the audit trail. Screenshots go to docs/img/clinic_*.png."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from openbsi.web.app import Settings

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).is_file():
    _why = f"{CHROMIUM} not installed (apt-get install chromium)"
    if os.environ.get("OPENBSI_REQUIRE_SYSTEM_DEPS") == "1":  # CI: run them, never skip
        pytest.fail(_why, pytrace=False)
    pytest.skip(_why, allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory, models_dir, helpers):
    settings = Settings(data_dir=tmp_path_factory.mktemp("clinic"), models_dir=models_dir)
    with helpers.LiveServer(settings) as live:
        live.records = helpers.seed_over_http(live, approve=False)
        yield live


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def login(browser, server, role: str, password: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{server.url}/sessions")
    assert page.url.endswith("/login")  # not logged in: sent to the login page
    page.fill("#username", role)
    page.fill("#password", password)
    page.click("#login-button")
    page.wait_for_url(re.compile(r"/sessions$"))
    return page


def shot(page, name: str) -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMG / f"clinic_{name}.png"), full_page=True)


def test_each_role_logs_in_and_sees_only_its_controls(browser, server, helpers):
    seen = {}
    for role in ("clinician", "engineer", "researcher", "auditor"):
        page = login(browser, server, role, helpers.PASSWORD)
        assert role in page.inner_text("#who")
        seen[role] = {
            "start": page.locator("#session-form").count(),
            "audit": page.locator("nav a[href='/audit']").count(),
        }
        if role == "clinician":
            shot(page, "sessions")
        page.context.close()
    assert seen["clinician"] == {"start": 1, "audit": 0}
    assert seen["engineer"]["start"] == 1
    assert seen["researcher"] == {"start": 0, "audit": 0}
    assert seen["auditor"] == {"start": 0, "audit": 1}
    # a wrong password is refused with a message
    page = browser.new_page()
    page.goto(f"{server.url}/login")
    page.fill("#username", "auditor")
    page.fill("#password", "not-the-password")
    page.click("#login-button")
    page.wait_for_selector("#login-error:has-text('wrong')")
    page.close()


def test_unsafe_program_is_refused_at_its_field(browser, server, helpers):
    program_id = server.records["program"]["id"]
    page = login(browser, server, "engineer", helpers.PASSWORD)
    page.goto(f"{server.url}/programs/{program_id}")
    page.wait_for_selector("#map svg")
    text = page.input_value("#yaml").replace("amplitude_ma: 3.5", "amplitude_ma: 40.0", 1)
    page.fill("#yaml", text)
    page.dispatch_event("#yaml", "input")
    violation = page.wait_for_selector(".violation[data-field='states.left_hip[0].amplitude_ma']")
    assert "12.7" in violation.inner_text() and "max_amplitude" in violation.inner_text()
    shot(page, "program_violation")
    page.click("#save-version")
    page.wait_for_selector("#editing-version:has-text('v2')")
    page.click("#validate-version")
    page.wait_for_selector("#program-message.error")
    assert page.inner_text("#status-badge") == "draft"
    page.context.close()


def test_approve_with_a_signature(browser, server, helpers):
    program_id = server.records["program"]["id"]
    page = login(browser, server, "clinician", helpers.PASSWORD)
    page.goto(f"{server.url}/programs/{program_id}")
    page.click(".open-version[data-number='1']")
    page.wait_for_selector("#editing-version:has-text('v1')")
    page.click("#validate-version")
    page.wait_for_selector("#status-badge:has-text('validated')")
    page.fill("#sign-password", "wrong-password")
    page.click("#approve-version")
    page.wait_for_selector("#program-message:has-text('wrong password')")
    page.fill("#sign-password", helpers.PASSWORD)
    page.click("#approve-version")
    page.wait_for_selector("#status-badge:has-text('approved')")
    message = page.inner_text("#program-message")
    assert "signed by Claire Clinician" in message and "approval" in message
    page.select_option("#diff-a", "1")
    page.select_option("#diff-b", "2")
    page.click("#diff-button")
    page.wait_for_selector("#diff:has-text('amplitude_ma: 40.0')")
    shot(page, "program_approved")
    page.context.close()


def test_live_session_estop_review_and_audit(browser, server, helpers):
    page = login(browser, server, "clinician", helpers.PASSWORD)
    page.wait_for_selector("#session-program option", state="attached")
    page.select_option("#session-program", f"{server.records['program']['id']}:1")  # approved
    page.fill("input[name=seconds]", "20")
    page.select_option("select[name=subject_sex]", "F")
    page.fill("input[name=subject_age_years]", "41")
    page.fill("input[name=experimenter]", "Doe, Jane")
    page.fill("input[name=institution]", "Clinic X")
    page.click("#start-session")
    page.wait_for_url(re.compile(r"/sessions/\d+/live$"))
    session_id = int(page.url.rstrip("/live").rsplit("/", 1)[-1])
    # the decoded state changes live: t advances and at least two states are shown
    page.wait_for_function("() => window.__obsiArrivals.length >= 5", timeout=120_000)
    states = set()
    for _ in range(80):
        states.add(page.inner_text("#state"))
        if len(states - {"-"}) >= 2:
            break
        page.wait_for_timeout(100)
    assert len(states - {"-"}) >= 2, states
    page.fill("#annotation", "foot drop on the left")
    page.click("#annotation-form button")
    page.wait_for_selector("#annotations li:has-text('foot drop')", timeout=10_000)
    shot(page, "live")
    page.click("#estop")
    page.wait_for_selector("#estop-result:has-text('All stimulation OFF')", timeout=10_000)
    assert page.evaluate("() => window.__obsiEstopMs") < 1000
    page.wait_for_selector(".estop-event", timeout=10_000)
    shot(page, "estop")
    page.wait_for_selector("#live-status:has-text('ended')", timeout=120_000)

    page.goto(f"{server.url}/sessions/{session_id}")
    page.wait_for_selector("#review-status:has-text('finished')", timeout=120_000)
    page.click("#verify")
    page.wait_for_selector("#verification:has-text('verified ok')", timeout=60_000)
    page.wait_for_timeout(500)  # the report in its frame
    shot(page, "review")
    page.context.close()

    auditor = login(browser, server, "auditor", helpers.PASSWORD)
    auditor.goto(f"{server.url}/audit")
    auditor.wait_for_selector("#audit tbody tr")
    actions = auditor.locator("#audit tbody td:nth-child(4)").all_inner_texts()
    assert {"approve", "start", "emergency_stop", "annotate", "verify"} <= set(actions)
    auditor.click("#audit-verify")
    auditor.wait_for_selector("#audit-result:has-text('chain intact')")
    shot(auditor, "audit")
    auditor.context.close()
