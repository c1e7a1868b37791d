"""The phone line's domain: call records, the voice-menu engine and the call flow.

Drives the line only through :mod:`appliance.line.base`; see docs/LINE.md.
"""

from __future__ import annotations

from appliance.calls.records import CALL_FIELDS, CallRecord, KeyLog, list_calls, record_call

__all__ = ["CALL_FIELDS", "CallRecord", "KeyLog", "list_calls", "record_call"]
