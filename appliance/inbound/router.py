"""The inbound-SMS router: every received message goes through an ordered list of hooks.

Order (DOMAIN.md "Inbound SMS router"; the first hook that takes the message ends it):

1. ``consent``: an opt-out word (STOP, LOPETA, SLUTA, 退订, ...) withdraws SMS consent at
   once, with one confirmation; an opt-in word (START, ALOITA, STARTA, 订阅, ...) gives it
   back *when the number is opted out* (otherwise "YES" goes on: it may be a survey answer).
2. ``help``: HELP/INFO/APUA/HJÄLP/帮助 is answered with the lab's contact text.
3. ``complaint``: a first word COMPLAINT/VALITUS/KLAGOMÅL/投诉 opens a complaint.
4. ``survey``: the answer to the sender's open SMS survey.
5. hooks added by other parts (``Router.add_hook``; follow-ups add "a reply stops the
   reminders" here). A hook that only observes returns None and the message goes on.
6. ``sms_in``: a plain message (it went up as ``sms_in`` when received, as every one does).

A multipart message stored incomplete and completed later by a late part is not routed a
second time (``message_completed``): a complaint it opened gets the whole text; what the other
hooks did on the partial text stands. Two exceptions, where the late part is the first and
brings a keyword: a message taken as plain (nothing was acted on) is routed again on its whole
text, and an opt-out is always honoured (routed again: the consent hook comes first).

Routing is idempotent and durable: the hooks' effects and the ``sms_inbound_routes`` row
commit in one transaction, and ``route_pending`` finds whatever a crash left unrouted. A
hook that fails unexpectedly is logged and the message is kept as ``error`` (with the
reason) so that one bad message cannot stop the ones behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from appliance.complaints import complaint_keyword, complete_text, open_complaint
from appliance.consent.core import is_opted_out, queue_sms, set_sms_consent
from appliance.consent.words import classify
from appliance.contacts import Contact, find_by_number
from appliance.errors import StoreError
from appliance.notifications.texts import say
from appliance.phone import mask
from appliance.surveys.engine import open_session_for
from appliance.surveys.sms import answer_sms, stop_sms_survey
from appliance.timefmt import utcnow

if TYPE_CHECKING:
    from appliance.notifications.requests import NotificationSettings
    from appliance.store.db import Store

log = logging.getLogger(__name__)

WAKEUP_SMS_IN = "sms_in"  # raised by the SMS receiver after a commit that completed a message
ROUTE_BATCH = 100  # messages routed per call of route_pending (the rest at the next)


@dataclass(frozen=True)
class Inbound:
    """A received message as the hooks see it."""

    message_id: int
    number: str  # E.164, or an alphanumeric sender as received
    text: str
    contact: Contact | None
    received_at: str

    @property
    def language(self) -> str | None:
        return self.contact.language if self.contact and self.contact.language else None


@dataclass(frozen=True)
class Handled:
    kind: str  # what the message was taken as (opt_out, complaint, survey, ...)
    detail: str = ""


Hook = Callable[["Store", "NotificationSettings", Inbound], Handled | None]


def consent_hook(store: Store, settings: NotificationSettings, msg: Inbound) -> Handled | None:
    keyword = classify(msg.text)
    if keyword is None or keyword.kind == "help":
        return None
    language = msg.language or keyword.language
    opted_out = is_opted_out(store, msg.number)
    if keyword.kind == "opt_out":
        if opted_out:
            return Handled("opt_out", "already opted out: no second confirmation")
        session = open_session_for(store, number=msg.number)
        if session is not None:
            stop_sms_survey(store, session, "opted_out")
        set_sms_consent(
            store, msg.number, False, source="sms_keyword", word=msg.text.strip()[:40], message_id=msg.message_id,
            confirmation=say("opt_out_confirmed", language, lab=settings.lab_name), language=language,
        )
        return Handled("opt_out", keyword.word)
    if not opted_out:
        return None  # START/YES from someone who never opted out: not a consent change
    set_sms_consent(
        store, msg.number, True, source="sms_keyword", word=msg.text.strip()[:40], message_id=msg.message_id,
        confirmation=say("opt_in_confirmed", language, lab=settings.lab_name), language=language,
    )
    return Handled("opt_in", keyword.word)


def help_hook(store: Store, settings: NotificationSettings, msg: Inbound) -> Handled | None:
    keyword = classify(msg.text)
    if keyword is None or keyword.kind != "help":
        return None
    language = msg.language or keyword.language
    contact_text = settings.help_text or settings.lab_name
    sent = queue_sms(
        store, msg.number, say("help", language, lab=settings.lab_name, contact=contact_text),
        purpose="help", language=language, contact_id=msg.contact.contact_id if msg.contact else None,
    )
    return Handled("help", f"not answered: {sent.blocked}" if sent.blocked else "answered")


def message_completed(store: Store, message_id: int, old_text: str, text: str) -> None:
    """A late part completed inbox message ``message_id`` (the receiver's transaction).

    Not routed yet: the router will see the whole text. Routed: never routed again; a complaint
    it opened gets the whole text (the keyword stripped as at opening); other outcomes stand."""
    row = store.conn.execute(
        "SELECT handled_as, detail FROM sms_inbound_routes WHERE message_id = ?", (message_id,)
    ).fetchone()
    if row is None:
        return
    handled_as, detail = row
    if handled_as == "complaint":
        found = complaint_keyword(text)
        if found is not None and complete_text(store, detail, found[1] or text,
                                               why=f"text completed by a late part of SMS {message_id}"):
            return
        log.warning("SMS %d completed after it opened complaint %s, which could not be updated", message_id, detail)
        return
    keyword = classify(text)
    if complaint_keyword(text) is not None or keyword is not None:
        opt_out = keyword is not None and keyword.kind == "opt_out" and handled_as != "opt_out"
        if handled_as == "sms_in" or opt_out:
            # nothing was acted on (a plain message), or an opt-out that must be honoured whatever the
            # partial text did: the router takes the whole text on its next pass
            store.conn.execute("DELETE FROM sms_inbound_routes WHERE message_id = ?", (message_id,))
            store.signal_after_commit(WAKEUP_SMS_IN)
            log.info("SMS %d completed by a late part: its whole text starts with a keyword; routed again "
                     "(was %s)", message_id, handled_as)
            return
        log.warning(
            "SMS %d completed by a late part after it was routed as %s: its whole text starts with a "
            "keyword that was not acted on (not routed twice); was %r", message_id, handled_as, old_text[:60],
        )
    else:
        log.info("SMS %d completed by a late part after it was routed as %s; not routed again",
                 message_id, handled_as)


def complaint_hook(store: Store, settings: NotificationSettings, msg: Inbound) -> Handled | None:
    found = complaint_keyword(msg.text)
    if found is None:
        return None
    keyword_language, rest = found
    complaint = open_complaint(
        store, channel="sms", text=rest or msg.text, number=msg.number,
        contact_id=msg.contact.contact_id if msg.contact else None,
        language=msg.language or keyword_language, lab=settings.lab_name,
    )
    return Handled("complaint", complaint.reference)


def survey_hook(store: Store, settings: NotificationSettings, msg: Inbound) -> Handled | None:
    session = open_session_for(store, number=msg.number)
    if session is None or session.channel != "sms":
        return None
    result = answer_sms(store, session, msg.text, settings.lab_name)
    if result.reask:
        return Handled("survey", f"session {session.session_id}: unreadable, asked again")
    if result.skipped:
        return Handled("survey", f"session {session.session_id}: unreadable twice, question skipped")
    return Handled("survey", f"session {session.session_id}: answered" + (", finished" if result.finished else ""))


def plain_hook(store: Store, settings: NotificationSettings, msg: Inbound) -> Handled | None:
    late = store.conn.execute(
        "SELECT session_id FROM survey_sessions WHERE number = ? AND status = 'incomplete' "
        "ORDER BY session_id DESC LIMIT 1",
        (msg.number,),
    ).fetchone()
    return Handled("sms_in", f"after survey session {late[0]} ended" if late else "")


class Router:
    """The ordered hooks; ``add_hook`` puts another part's hook before the final ``sms_in``."""

    def __init__(self, settings: NotificationSettings) -> None:
        self.settings = settings
        self.hooks: list[tuple[str, Hook]] = [
            ("consent", consent_hook),
            ("help", help_hook),
            ("complaint", complaint_hook),
            ("survey", survey_hook),
            ("sms_in", plain_hook),
        ]

    def add_hook(self, name: str, hook: Hook, *, before: str = "sms_in") -> None:
        names = [n for n, _ in self.hooks]
        if name in names:
            raise ValueError(f"inbound hook {name!r} is registered already")
        self.hooks.insert(names.index(before), (name, hook))

    @property
    def order(self) -> list[str]:
        return [n for n, _ in self.hooks]

    def route(self, store: Store, message_id: int) -> Handled | None:
        """Route one inbox message (store thread); None when it was routed before."""
        conn = store.conn
        with store.transaction():
            if conn.execute("SELECT 1 FROM sms_inbound_routes WHERE message_id = ?", (message_id,)).fetchone():
                return None
            row = conn.execute(
                "SELECT number, text, created_at FROM sms_messages WHERE id = ? AND box = 'inbox'", (message_id,)
            ).fetchone()
            if row is None:
                return None
            number, text, received_at = row
            if not number.startswith("+"):  # an alphanumeric sender cannot be answered
                handled = Handled("sms_in", "alphanumeric sender")
            else:
                msg = Inbound(message_id, number, text, find_by_number(store, number), received_at)
                handled = self._run_hooks(store, msg)
            conn.execute(
                "INSERT INTO sms_inbound_routes(message_id, handled_as, detail, routed_at) VALUES (?, ?, ?, ?)",
                (message_id, handled.kind, handled.detail[:500], utcnow()),
            )
        log.info("SMS %d from %s: %s%s", message_id, mask(number), handled.kind,
                 f" ({handled.detail})" if handled.detail else "")
        return handled

    def _run_hooks(self, store: Store, msg: Inbound) -> Handled:
        for name, hook in self.hooks:
            try:
                with store.transaction():  # a failing hook rolls back alone
                    handled = hook(store, self.settings, msg)
            except StoreError:
                raise
            except Exception as err:
                log.exception("inbound hook %s failed on SMS %d", name, msg.message_id)
                return Handled("error", f"{name}: {type(err).__name__}: {err}")
            if handled is not None:
                return handled
        return Handled("sms_in")

    def route_pending(self, store: Store, limit: int = ROUTE_BATCH) -> list[tuple[int, Handled]]:
        """Route inbox messages not routed yet, oldest first (at most ``limit``)."""
        rows = store.conn.execute(
            "SELECT m.id FROM sms_messages m LEFT JOIN sms_inbound_routes r ON r.message_id = m.id "
            "WHERE m.box = 'inbox' AND r.message_id IS NULL ORDER BY m.id LIMIT ?",
            (limit,),
        ).fetchall()
        done: list[tuple[int, Handled]] = []
        for (message_id,) in rows:
            handled = self.route(store, int(message_id))
            if handled is not None:
                done.append((int(message_id), handled))
        return done
