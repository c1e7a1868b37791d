"""Fixtures for the whole suite. Each area keeps its own in tests/<area>/conftest.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.store.db import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A freshly migrated store in a temp dir."""
    s = Store.open(tmp_path / "appliance.db")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Fail a test that leaves non-daemon threads running behind it."""
    before = set(threading.enumerate())
    yield
    leftover = [
        t for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.daemon and t.name != "MainThread"
    ]
    for t in leftover:
        t.join(timeout=5)
    still = [t.name for t in leftover if t.is_alive()]
    assert not still, f"test left threads running: {still}"
