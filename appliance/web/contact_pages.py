"""A contact's page: synced fields shown read-only, a local contact edited, the desk's note on any."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from appliance.errors import ValidationError
from appliance.phone import mask

if TYPE_CHECKING:
    from appliance.store.db import Store

MAX_PHONES = 5  # phones a local contact may have (the form's bound)


def contact_view(store: Store, contact_id: str) -> dict[str, Any] | None:
    """What the contact page shows, or None for an unknown or deleted contact."""
    from appliance.consent.core import opted_out_numbers
    from appliance.contacts.store import duplicates_of, get_contact, get_note

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
        app.router.add_get("/contacts/{contact_id}", self.contact_page)
        app.router.add_post("/contacts/{contact_id}", self.contact_edit)
        app.router.add_post("/contacts/{contact_id}/note", self.contact_note)

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
        from appliance.contacts.store import update_local_contact

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
        from appliance.contacts.store import set_note
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
