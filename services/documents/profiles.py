"""Parties on documents: the seller from settings, buyers from a local copy of billing profiles.

Billing announces every profile change (AccountUpdated); documents keeps the newest one. A
profile that has not arrived yet is asked from billing (GetAccount) and remembered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from contracts.base import utcnow
from contracts.billing.v1 import AccountProfile, AccountUpdated, GetAccount
from runtime.db import Database
from runtime.messaging import request
from runtime.newest import keep_newest
from services.documents.rendering import Party
from services.documents.rendering.models import EInvoice
from services.documents.tables import profiles


def seller(settings) -> Party:
    return Party(
        name=settings.seller_name,
        street=settings.seller_street,
        postal_code=settings.seller_postal_code,
        city=settings.seller_city,
        country=settings.seller_country.upper(),
        vat_id=settings.seller_vat_id,
        tax_number=settings.seller_tax_number,
        email=settings.seller_email,
        iban=settings.seller_iban,
        phone=settings.seller_phone,
        contact=settings.seller_contact,
    )


def buyer(profile: AccountProfile) -> Party:
    if not profile.name.strip():
        raise LookupError(f"the billing profile of {profile.tenant_id} has no name yet")
    return Party(
        name=profile.name,
        street=profile.address.line1,
        postal_code=profile.address.postal_code,
        city=profile.address.city,
        country=profile.country.upper(),
        vat_id=profile.vat_id or None,
        email=profile.email or None,
    )


def einvoice(profile: AccountProfile) -> EInvoice:
    """The e-invoice flavour the buyer asked for (XRechnung with their Leitweg-ID, or EN 16931)."""
    return EInvoice(profile=profile.einvoice_profile, buyer_reference=profile.buyer_reference)


async def _save(db: Database, items: list[tuple[AccountProfile, datetime]]) -> None:
    """Upsert, keeping whichever version of a profile is newest."""
    if not items:
        return
    async with db.transaction() as session:
        await keep_newest(
            session,
            profiles,
            [{"tenant_id": p.tenant_id, "profile": p.model_dump(mode="json"), "as_of": as_of} for p, as_of in items],
            version="as_of",
        )


async def remember(*, db: Database, events: list[AccountUpdated]) -> None:
    await _save(db, [(e.profile, e.occurred_at) for e in events])


async def load(*, db: Database, nc, tenant_ids: Iterable[str], timeout: float = 5) -> dict[str, AccountProfile]:
    """The profiles of `tenant_ids`, asking billing for the ones not known here yet."""
    wanted = set(tenant_ids)
    async with db.sessions() as session:
        rows = (
            await session.execute(
                sa.select(profiles.c.tenant_id, profiles.c.profile).where(profiles.c.tenant_id.in_(wanted))
            )
        ).all()
    found = {r.tenant_id: AccountProfile.model_validate(r.profile) for r in rows}
    asked = []
    for tenant_id in sorted(wanted - set(found)):
        reply = await request(nc, GetAccount(tenant_id=tenant_id), timeout=timeout)
        found[tenant_id] = reply.profile
        asked.append((reply.profile, utcnow()))
    await _save(db, asked)
    return found


async def known_tenants(*, db: Database) -> list[str]:
    async with db.sessions() as session:
        return list((await session.execute(sa.select(profiles.c.tenant_id).order_by(profiles.c.tenant_id))).scalars())
