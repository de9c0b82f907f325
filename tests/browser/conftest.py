"""Real-browser fixtures: Playwright (sync API) driving Debian's Chromium against `epay serve --demo`.

No browser is ever downloaded: `make browser` installs Debian's `chromium` (and fonts with Arabic glyphs) with apt-get.
Each test module gets its own server (its own embedded DynamoDB), so a module that pays invoices cannot change what
another module counts; within a module every journey uses invoices of its own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.support.servers import epay_serve

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The page's own API calls are many per test; the rate limits are tested elsewhere (and faked here with page.route).
SERVER_ENV = {
    "EPAY_LOOKUP_LIMIT_PER_MINUTE": "100000",
    "EPAY_LOOKUP_MISSES_PER_HOUR": "100000",
    "EPAY_PAYMENT_LIMIT_PER_MINUTE": "100000",
    "EPAY_PAYMENT_MISSES_PER_HOUR": "100000",
}

expect.set_options(timeout=15_000)


def chromium_path() -> str:
    found = os.environ.get("EPAY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail(f"Debian's Chromium is not installed ({found}): run `make browser` first", pytrace=False)
    return found


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """A fresh `epay serve --demo` for each test module: the page, the API and the gateway simulators."""
    with epay_serve("--demo", **SERVER_ENV) as url:
        yield url


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A new browser context (no storage shared between tests), French, desktop size; fails on any script error."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, base_url=base_url)
    context.set_default_timeout(15_000)
    errors: list[str] = []
    context.on("page", lambda opened: opened.on("pageerror", lambda error: errors.append(f"{opened.url}: {error}")))
    tab = context.new_page()
    yield tab
    context.close()
    assert not errors, f"script errors on the page: {errors}"
