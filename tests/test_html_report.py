"""The HTML report: escaped, redacted, self-contained, and usable in a real browser.

The browser test drives Debian's Chromium through Playwright (``pip install playwright``,
``apt-get install chromium``; never ``playwright install``). When either is missing the
test fails, with a message saying what to install: CI installs both.
"""

from __future__ import annotations

import json
import os
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from apirun.location import Location
from apirun.redaction import Redactor
from apirun.report.html import BODY_LIMIT, render_html
from apirun.results import (
    CollectionResult,
    Failure,
    RequestInfo,
    ResponseInfo,
    RunResult,
    StepResult,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "s3cr3t-T0ken-VALUE"
XSS_NAME = "<script>alert(1)</script>"
ORDERS = "collections/orders.yaml"
USERS = "collections/users.yaml"


def make_run() -> tuple[RunResult, Redactor]:
    """Three collections: passed, failed (two failures), error and skipped steps."""
    redactor = Redactor()
    redactor.add(SECRET)
    big = json.dumps([{"id": i, "item": "widget", "qty": i % 7} for i in range(800)])
    orders = CollectionResult(
        name="Orders API",
        file=ORDERS,
        duration_ms=812.0,
        steps=(
            StepResult(
                name="list orders",
                outcome="passed",
                duration_ms=120.4,
                location=Location(ORDERS, 5, 5),
                request=RequestInfo(
                    "GET",
                    "https://api.example.test/orders?page=1&" + "x" * 300,
                    headers=(("Accept", "application/json"),),
                ),
                response=ResponseInfo(
                    200,
                    "OK",
                    headers=(("Content-Type", "application/json"),),
                    body=big,
                    body_size=len(big),
                    elapsed_ms=118.0,
                ),
            ),
            StepResult(
                name="create order",
                outcome="failed",
                duration_ms=640.0,
                attempts=3,
                location=Location(ORDERS, 11, 5),
                request=RequestInfo(
                    "POST",
                    "https://api.example.test/orders",
                    headers=(("Authorization", "Bearer abc.def.ghi"), ("X-Trace", SECRET)),
                    body='{"sku": "W-1", "qty": 2}',
                    body_size=24,
                ),
                response=ResponseInfo(
                    400,
                    "Bad Request",
                    headers=(("Content-Type", "application/json"),),
                    body=json.dumps({"error": "invalid", "echo": {"token": SECRET}}),
                    body_size=60,
                    elapsed_ms=95.5,
                ),
                failures=(
                    Failure(
                        "status",
                        "expected status 201, got 400",
                        Location(ORDERS, 14, 7),
                        expected="201",
                        actual="400",
                    ),
                    Failure(
                        "json $.id",
                        "no match for $.id",
                        Location(ORDERS, 16, 9),
                        expected="exists: true",
                        actual=f'{{"error": "invalid", "token": "{SECRET}"}}',
                    ),
                ),
            ),
            StepResult(
                name="delete order",
                outcome="skipped",
                duration_ms=0.0,
                location=Location(ORDERS, 20, 5),
                skip_reason="when: {{ order_id }} is false",
            ),
        ),
    )
    users = CollectionResult(
        name="Users & <Auth>",
        file=USERS,
        duration_ms=310.0,
        steps=(
            StepResult(
                name=XSS_NAME,
                outcome="passed",
                duration_ms=42.0,
                location=Location(USERS, 3, 5),
                request=RequestInfo("GET", "https://api.example.test/users?q=<b>x</b>"),
                response=ResponseInfo(200, "OK", body="<html><script>alert(2)</script></html>"),
            ),
            StepResult(
                name="get profile",
                outcome="error",
                duration_ms=250.0,
                location=Location(USERS, 8, 5),
                request=RequestInfo("GET", "https://api.example.test/me"),
                failures=(
                    Failure(
                        "request",
                        "connection refused: https://api.example.test/me",
                        Location(USERS, 8, 5),
                    ),
                ),
            ),
            StepResult(
                name="admin only",
                outcome="skipped",
                duration_ms=0.0,
                skip_reason="filtered out by --tag",
            ),
        ),
    )
    health = CollectionResult(
        name="Health",
        file="collections/health.yaml",
        duration_ms=30.0,
        steps=(
            StepResult(
                name="ping",
                outcome="passed",
                duration_ms=12.0,
                request=RequestInfo("GET", "https://api.example.test/health"),
                response=ResponseInfo(204, "No Content"),
            ),
        ),
    )
    run = RunResult(
        collections=(orders, users, health),
        duration_ms=1234.5,
        started_at="2024-05-01T12:00:00+00:00",
        load_errors=("collections/broken.yaml:3:1: unknown key 'stpes'",),
    )
    return run, redactor


@pytest.fixture
def report(tmp_path: Path) -> Path:
    run, redactor = make_run()
    path = tmp_path / "report.html"
    path.write_text(render_html(run, redactor), encoding="utf-8")
    return path


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: list[tuple[str, str, str]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.attrs.extend((tag, k, v or "") for k, v in attrs)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def test_no_external_references(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    parser = _Attributes()
    parser.feed(text)
    fetching = {"src", "href", "srcset", "action", "formaction", "poster", "data", "background"}
    for tag, name, value in parser.attrs:
        if name in fetching:
            assert value.startswith(("#", "data:")), f"<{tag} {name}={value!r}> may fetch"
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", text, re.I)
    css = "".join(parser.styles)
    assert css and "url(" not in css and "@import" not in css
    assert "default-src 'none'" in text  # the CSP forbids fetches besides
    assert '<meta name="viewport"' in text


def test_escaped_and_redacted(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert SECRET not in text
    assert "abc.def.ghi" not in text  # Authorization masked by name
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert" not in text
    assert text.count("<script>") == 1  # only the report's own
    assert "Users &amp; &lt;Auth&gt;" in text
    assert f"showing the first {BODY_LIMIT:,}" in text


def test_interruption_and_collection_errors() -> None:
    broken = CollectionResult(
        "Half done", "c.yaml", (), 5.0, errors=(f"auth failed: {SECRET}",), interrupted=True
    )
    text = render_html(RunResult((broken,), 5.0, interrupted="SIGINT"), make_run()[1])
    assert 'id="interrupted"' in text and "Stopped by SIGINT" in text
    assert 'data-has-failures="true"' in text
    assert "auth failed: ***" in text and SECRET not in text
    assert 'id="verdict" class="verdict bad"' in text


def test_colour_follows_the_outcome_and_failures_show_expected_and_actual() -> None:
    # An expected 404 that passed is green; a 200 that failed a check is red.
    steps = (
        StepResult("gone", "passed", 3.0, response=ResponseInfo(404, "Not Found")),
        StepResult(
            "wrong body",
            "failed",
            4.0,
            response=ResponseInfo(200, "OK"),
            failures=(
                Failure(
                    "json $.user",
                    "expected {'id': 6}, got {'id': 5}",
                    Location("c.yaml", 9, 9),
                    expected={"id": 6},
                    actual=None,
                ),
            ),
        ),
    )
    run = RunResult((CollectionResult("c", "c.yaml", steps, 7.0),), 7.0)
    text = render_html(run, Redactor())
    assert '<span class="status passed">404' in text
    assert '<span class="status failed">200' in text
    assert "status-4xx" not in text and "status-2xx" not in text
    assert "<h4>expected</h4><pre>{&quot;id&quot;: 6}</pre>" in text  # JSON, not a repr
    assert "<h4>actual</h4><pre>null</pre>" in text  # absent is shown, not left out


def test_each_collection_has_a_timeline_of_its_steps() -> None:
    steps = (
        StepResult(name="fast", outcome="passed", duration_ms=10.0),
        StepResult(name=XSS_NAME, outcome="failed", duration_ms=30.0),
        StepResult(name="slow", outcome="error", duration_ms=60.0),
    )
    text = render_html(
        RunResult((CollectionResult("c", "c.yaml", steps, 100.0),), 100.0), Redactor()
    )
    bars = re.findall(r'<rect class="(\w+)" x="([\d.]+)" y="0" width="([\d.]+)"', text)
    assert bars == [
        ("passed", "0.0", "100.0"),
        ("failed", "100.0", "300.0"),
        ("error", "400.0", "600.0"),
    ]
    assert "<title>fast · passed · 10 ms</title>" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; · failed" in text and XSS_NAME not in text
    assert "Timeline: 3 steps in 100 ms" in text


def test_a_long_collection_shares_timeline_bars_and_shows_its_worst_outcome() -> None:
    steps = tuple(
        StepResult(name=f"s{i}", outcome="failed" if i == 7 else "passed", duration_ms=1.0)
        for i in range(1000)
    )
    text = render_html(
        RunResult((CollectionResult("c", "c.yaml", steps, 1000.0),), 1000.0), Redactor()
    )
    bars = re.findall(r'<rect class="(\w+)"', text)
    assert len(bars) == 200  # five steps a bar
    assert bars[1] == "failed" and bars.count("failed") == 1
    assert "<title>steps 6 to 10 · failed · 5.0 ms</title>" in text


def test_empty_run_renders() -> None:
    text = render_html(RunResult(collections=(), duration_ms=0.0), Redactor())
    assert "No collection ran." in text and "No failures." in text


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the HTML report test needs Playwright: pip install playwright "
            "(the Python package only; do not run `playwright install`)"
        )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"the HTML report test needs Chromium at {CHROMIUM}: apt-get install chromium")
    return sync_playwright


@pytest.mark.slow
def test_report_in_a_real_browser(report: Path) -> None:
    sync_playwright = _playwright()
    url = report.as_uri()
    attempted: list[str] = []
    dialogs: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            attempted.append(r.request.url)
            r.abort()

    def on_request(request: Any) -> None:
        if request.url != url:
            attempted.append(request.url)

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    started = time.monotonic()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(10_000)
            page.route("**/*", route)
            page.on("request", on_request)
            page.on("dialog", on_dialog)
            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)

            # The summary comes first, with the numbers.
            assert page.inner_text("#count-passed .num") == "3"
            assert page.inner_text("#count-failed .num") == "1"
            assert page.inner_text("#count-error .num") == "1"
            assert page.inner_text("#count-skipped .num") == "2"
            assert page.inner_text("#total-duration") == "1.23 s"
            assert "2024-05-01T12:00:00" in page.inner_text("#started-at")
            assert page.is_visible("#load-errors")
            assert "unknown key 'stpes'" in page.inner_text("#load-errors")
            assert page.locator("#collections tbody tr").count() == 3

            # Every failure listed up front with its YAML line and a link to its step.
            failures = page.inner_text("#failures")
            assert f"{ORDERS}:14" in failures and f"{ORDERS}:16" in failures
            assert f"{USERS}:8" in failures
            assert page.locator('#failures a[href="#c1-s2"]').count() == 2
            box = page.locator("#failures").bounding_box()
            first_step = page.locator(".step").first.bounding_box()
            assert box is not None and first_step is not None and box["y"] < first_step["y"]

            # Failures are expanded in their step; details are collapsed.
            step = page.locator("#c1-s2")
            assert step.get_attribute("data-outcome") == "failed"
            assert step.locator(".failure").count() == 2
            assert step.locator(".failure").first.is_visible()
            assert "expected status 201, got 400" in step.inner_text()
            assert step.locator(".expected pre").first.inner_text() == "201"
            assert step.locator(".actual pre").first.inner_text() == "400"
            assert "3 attempts" in step.inner_text()
            assert not step.locator("details.response pre.body").is_visible()
            step.locator("details.response > summary").click()
            assert step.locator("details.response pre.body").is_visible()
            assert '"echo": {' in step.locator("details.response pre.body").inner_text()

            # Escaped, redacted, no script ran, styles and script were allowed by the CSP.
            assert page.inner_text("#c2-s1 .step-name") == XSS_NAME
            page.click("#expand-all")
            assert SECRET not in page.content()
            assert SECRET not in page.inner_text("body")
            assert "Bearer ***" in page.inner_text("#c1-s2 details.request")
            assert dialogs == []
            assert errors == []
            assert page.is_visible("#toolbar")
            border = page.eval_on_selector("#c1-s2", "e => getComputedStyle(e).borderLeftWidth")
            assert border == "5px"

            # "Failures only" hides passed and skipped steps and emptied collections.
            page.click("#failures-only")
            for outcome in ("passed", "skipped"):
                steps = page.locator(f'.step[data-outcome="{outcome}"]')
                assert steps.count() >= 2
                assert all(not steps.nth(i).is_visible() for i in range(steps.count()))
            for outcome in ("failed", "error"):
                steps = page.locator(f'.step[data-outcome="{outcome}"]')
                assert steps.count() == 1 and steps.first.is_visible()
            assert not page.is_visible("#c3")
            assert page.is_visible("#c1") and page.is_visible("#c2")
            page.click("#failures-only")
            assert page.is_visible("#c3 .step")

            # A phone: nothing wider than the screen; dark mode changes the colours.
            page.set_viewport_size({"width": 390, "height": 844})
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
            light = page.eval_on_selector("body", "e => getComputedStyle(e).backgroundColor")
            page.emulate_media(color_scheme="dark")
            dark = page.eval_on_selector("body", "e => getComputedStyle(e).backgroundColor")
            assert light != dark

            # Without JavaScript the content is all there; the dead controls are not.
            nojs = browser.new_context(java_script_enabled=False).new_page()
            nojs.route("**/*", route)
            nojs.goto(url)
            assert not nojs.is_visible("#toolbar")
            assert nojs.locator("#c1-s2 .failure").first.is_visible()
            assert nojs.inner_text("#count-failed .num") == "1"
        finally:
            browser.close()

    assert attempted == [], f"the report tried to fetch {attempted}"
    assert time.monotonic() - started < 60
