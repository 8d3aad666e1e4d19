"""Browser tests' harness: Debian's chromium driven by Playwright for Python, headless, never a
browser Playwright downloads. Without /usr/bin/chromium (or the playwright package) the tests
that use `console_page` skip and say why. Each test leaves a full-page screenshot under
var/screenshots/.

Use the fixtures by importing them into a test module or conftest:
`from tests.support.browser import console_page, screenshot  # noqa: F401`.
"""

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
VIEWPORT = {"width": 1400, "height": 900}


@pytest.fixture
def console_page(live_server, monkeypatch) -> Iterator[Any]:
    """A fresh headless chromium page; `page.console_url` is the live server's /admin/."""
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="browser tests need the playwright package (dev extra)"
    )
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls (to
    # wait for executions) are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
            page = context.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            browser.close()
            # The test's ORM calls ran while Playwright's loop was current, so they used a
            # connection of their own that pytest-django's teardown does not know about.
            connections.close_all()


@pytest.fixture
def screenshot(request, console_page) -> Callable[[str], Path]:
    """`screenshot("step")` saves var/screenshots/<test>-<step>.png of the whole page; the
    test's last state is saved as var/screenshots/<test>.png when it ends, passed or not."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "-", request.node.name)

    def take(step: str = "") -> Path:
        path = SCREENSHOTS / (f"{name}-{step}.png" if step else f"{name}.png")
        console_page.screenshot(path=str(path), full_page=True)
        return path

    yield take
    take()


def log_in(page: Any, username: str, password: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
