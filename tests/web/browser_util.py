"""Shared steps of the browser tests: log in, wait for text."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.web.harness import PASSWORD


def login(page: Any, url: Callable[[str], str], username: str = "tech", password: str = PASSWORD) -> None:
    page.goto(url("/"))
    assert page.url.endswith("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.login button[type=submit]")
    page.wait_for_url(url("/"))


def wait_until(check: Callable[[], bool], timeout: float = 10.0, step: float = 0.02) -> float:
    """Seconds until ``check()`` held; AssertionError after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(step)
    raise AssertionError(f"not true within {timeout} s")


DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shot(page: Any, tmp_path: Path, name: str, **kw: Any) -> Path:
    """Screenshot into tmp_path, or into docs/screenshots with APPLIANCE_SCREENSHOTS=1 (the README's)."""
    folder = DOCS_SCREENSHOTS if os.environ.get("APPLIANCE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), **kw)
    return path
