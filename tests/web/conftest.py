"""Headless Debian Chromium driven by Playwright, for tests of the status page.

Playwright's sync API runs an event loop in the calling thread while it is
started. A session-scoped Playwright therefore left a running loop behind
every later test in the session, and `asyncio.run()` tests placed after it
failed ("cannot be called from a running event loop") whenever the order
changed. Here Playwright lives for one test only: started and stopped in the
fixture, so no loop outlives the test (the suite passes with `--random-order`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = os.environ.get("APPLIANCE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (run it as root)")
    from playwright.sync_api import sync_playwright

    manager = sync_playwright()
    pw = manager.start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        manager.__exit__(None, None, None)
    asyncio.set_event_loop(None)  # Playwright's loop is closed; leave none set for the next test


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
