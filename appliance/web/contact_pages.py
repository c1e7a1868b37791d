"""Contacts: the list, save-as-contact for an unknown number, and a contact's page (synced fields
read-only, a local contact edited, the desk's note on any)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from appliance.consent.core import opted_out_numbers
from appliance.contacts.store import (
    create_local_contact,
    duplicates_of,
    get_contact,
    get_note,
    set_note,
    update_local_contact,
)
from appliance.errors import ValidationError
from appliance.phone import mask, to_e164

if TYPE_CHECKING:
    from appliance.store.db import Store

MAX_PHONES = 5  # phones a local contact may have (the form's bound)


def contacts_view(store: Store, after: str | None, limit: int = 50) -> tuple[list[dict[str, Any]], str | None]:
    """One page of contacts by id, with opted-out phones and possible duplicates marked; the next page's key."""
    rows = store.conn.execute(
        "SELECT contact_id FROM contacts WHERE deleted = 0 AND contact_id > ? ORDER BY contact_id LIMIT ?",
        (after or "", limit + 1),
    ).fetchall()
    out: list[dict[str, Any]] = []
    for (contact_id,) in rows[:limit]:
        c = get_contact(store, contact_id)
        if c is None:
            continue
        opted = opted_out_numbers(store, list(c.phones))
        row: dict[str, Any] = {
            "contact_id": c.contact_id, "name": c.name, "language": c.language, "phones": list(c.phones),
            "consents": dict(c.consents), "local": bool(c.local), "opted_out": sorted(opted),
            "duplicates": duplicates_of(store, c.contact_id),
        }
        out.append(row)
    return out, (out[-1]["contact_id"] if len(rows) > limit and out else None)


def contact_view(store: Store, contact_id: str) -> dict[str, Any] | None:
    """What the contact page shows, or None for an unknown or deleted contact."""
    contact = get_contact(store, contact_id)
    if contact is None or contact.deleted:
        return None
    return {
        "contact": contact,
        "note": get_note(store, contact_id),
        "opted_out": sorted(opted_out_numbers(store, list(contact.phones))),
        "duplicates": duplicates_of(store, contact_id),
    }


def phones_from_form(raw: str) -> list[str]:
    """The form's phones: one per line or comma-separated, in order, at most MAX_PHONES."""
    phones = [p.strip() for p in raw.replace(",", "\n").splitlines() if p.strip()]
    if len(phones) > MAX_PHONES:
        raise ValidationError(f"at most {MAX_PHONES} phone numbers, {len(phones)} given")
    return phones


class ContactPages:
    """Handlers mixed into the web service (which provides _render, _body, _audit, ctx, hub)."""

    def add_contact_routes(self: Any, app: web.Application) -> None:
        app.router.add_get("/contacts", self.contacts_page)
        app.router.add_post("/contacts", self.contact_submit)
        app.router.add_post("/contacts/new", self.contact_form)
        app.router.add_get("/contacts/{contact_id}", self.contact_page)
        app.router.add_post("/contacts/{contact_id}", self.contact_edit)
        app.router.add_post("/contacts/{contact_id}/note", self.contact_note)

    async def contacts_page(self: Any, request: web.Request) -> web.Response:
        after = request.query.get("after") or None
        rows, next_after = await self.ctx.store.run(contacts_view, self.ctx.store, after)
        return self._render(request, "contacts.html", rows=rows, next_after=next_after)

    async def contact_form(self: Any, request: web.Request) -> web.Response:
        """The save-as-contact form, with the number it was opened for (posted, not in the URL)."""
        body = await self._body(request)
        return self._render(request, "contact_new.html", number=str(body.get("number", ""))[:32], error="")

    async def contact_submit(self: Any, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        name, number = str(body.get("name", "")).strip()[:120], str(body.get("number", "")).strip()
        language = str(body.get("language", "")).strip()[:8] or None
        try:
            if not name:
                raise ValidationError("a contact needs a name")
            e164 = to_e164(number, self.ctx.config.site.country)
            contact = await self.ctx.store.run(
                lambda: create_local_contact(
                    self.ctx.store, name, [e164], language, region=self.ctx.config.site.country
                )
            )
        except ValidationError as err:
            response = self._render(request, "contact_new.html", number=number[:32], error=str(err))
            response.set_status(400)
            return response
        await self._audit(request, "contact", f"contact {contact.contact_id}", mask(e164))
        return self._done(request, {"contact_id": contact.contact_id}, "/contacts")

    async def _contact_or_404(self: Any, contact_id: str) -> dict[str, Any]:
        view = await self.ctx.store.run(contact_view, self.ctx.store, contact_id)
        if view is None:
            raise web.HTTPNotFound(text=f"no contact {contact_id}")
        return view

    async def contact_page(self: Any, request: web.Request) -> web.Response:
        view = await self._contact_or_404(request.match_info["contact_id"])
        return self._render(request, "contact.html", error="", **view)

    async def _form_error(self: Any, request: web.Request, contact_id: str, err: ValidationError) -> web.Response:
        view = await self._contact_or_404(contact_id)
        response = self._render(request, "contact.html", error=str(err), **view)
        response.set_status(400)
        return response

    async def contact_edit(self: Any, request: web.Request) -> web.StreamResponse:
        contact_id = request.match_info["contact_id"]
        await self._contact_or_404(contact_id)
        body = await self._body(request)
        try:
            phones = phones_from_form(str(body.get("phones", ""))[:400])
            contact = await self.ctx.store.run(
                lambda: update_local_contact(
                    self.ctx.store, contact_id, str(body.get("name", ""))[:120], phones,
                    str(body.get("language", "")).strip()[:8] or None,
                    region=self.ctx.config.site.country,
                    consents={"sms": bool(body.get("consent_sms")), "call": bool(body.get("consent_call"))},
                )
            )
        except ValidationError as err:
            return await self._form_error(request, contact_id, err)
        await self._audit(request, "contact_edit", f"contact {contact_id}", ", ".join(mask(p) for p in contact.phones))
        self.hub.poke()
        return self._done(request, {"contact_id": contact_id}, f"/contacts/{contact_id}")

    async def contact_note(self: Any, request: web.Request) -> web.StreamResponse:
        from appliance.web.server import USER

        contact_id = request.match_info["contact_id"]
        await self._contact_or_404(contact_id)
        body = await self._body(request)
        author = request[USER].username
        try:
            await self.ctx.store.run(set_note, self.ctx.store, contact_id, str(body.get("note", ""))[:4000], author)
        except ValidationError as err:
            return await self._form_error(request, contact_id, err)
        await self._audit(request, "contact_note", f"contact {contact_id}")
        return self._done(request, {"contact_id": contact_id}, f"/contacts/{contact_id}")
