"""Phone numbers never reach the logs in full."""

from __future__ import annotations

import logging

import pytest

from appliance.daemon.logsetup import MaskNumbers
from appliance.errors import ValidationError
from appliance.phone import mask, mask_numbers_in, to_e164


def test_mask_keeps_only_a_hint() -> None:
    assert mask("+358401234567") == "+358*******67"
    assert "1234" not in mask("+358401234567")


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("sent to +358401234567 ok", "401234567"),
        ("caller 0401234567 rang", "0401234567"),
        ("NMBR = 4075551212", "4075551212"),
    ],
)
def test_numbers_in_text_are_masked(text: str, hidden: str) -> None:
    assert hidden not in mask_numbers_in(text)


def test_small_counts_and_times_are_left_alone() -> None:
    text = "drained 1500 events in 12.5 s at 2026-11-22T03:02:22"
    assert mask_numbers_in(text) == text


def test_log_filter_masks_formatted_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.mask")
    masking = MaskNumbers()
    caplog.handler.addFilter(masking)
    try:
        logger.warning("SMS to %s failed", "+358401234567")
    finally:
        caplog.handler.removeFilter(masking)
    assert "+358401234567" not in caplog.text


def test_to_e164() -> None:
    assert to_e164("040 123 4567", "FI") == "+358401234567"
    assert to_e164("+1 (407) 555-1212", "FI") == "+14075551212"
    with pytest.raises(ValidationError, match="not a"):
        to_e164("hello", "FI")
    with pytest.raises(ValidationError):
        to_e164("12", "FI")
