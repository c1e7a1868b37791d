"""SMS consent and opt-out: who may be sent what (DOMAIN.md "Consent / opt-out")."""

from appliance.consent.core import (
    CONSENT_STREAM,
    Queued,
    is_opted_out,
    opted_out_numbers,
    queue_sms,
    send_block_reason,
    set_sms_consent,
)
from appliance.consent.words import Keyword, classify

__all__ = [
    "CONSENT_STREAM",
    "Keyword",
    "Queued",
    "classify",
    "is_opted_out",
    "opted_out_numbers",
    "queue_sms",
    "send_block_reason",
    "set_sms_consent",
]
