"""The tenant's billing profile: created by the gateway's admin API, edited by the customer."""

from __future__ import annotations

from pydantic import ValidationError

from contracts.base import utcnow
from contracts.billing.v1 import AccountProfile, AccountUpdated
from runtime import outbox
from runtime.db import Database
from runtime.refusals import Invalid, NotFound
from services.billing.queries import profile_of
from services.billing.tables import Account

EDITABLE = {
    "name",
    "email",
    "phone",
    "address",
    "vat_id",
    "locale",
    "low_balance_threshold_cents",
    "country",
    "einvoice_profile",
    "buyer_reference",
}


def _apply_profile(account: Account, profile: AccountProfile) -> None:
    account.name, account.email, account.country = profile.name, profile.email, profile.country.upper()
    account.vat_id, account.phone, account.locale = profile.vat_id, profile.phone, profile.locale
    account.address_line1 = profile.address.line1
    account.postal_code = profile.address.postal_code
    account.city = profile.address.city
    account.low_balance_threshold_cents = profile.low_balance_threshold_cents
    account.einvoice_profile, account.buyer_reference = profile.einvoice_profile, profile.buyer_reference


async def create_account(*, db: Database, profile: AccountProfile) -> AccountProfile:
    """Idempotent: an existing account (even one created by early usage) gets the profile once."""
    now = utcnow()
    async with db.transaction() as session:
        account = await session.get(Account, profile.tenant_id, with_for_update=True)
        if account is not None and account.name:
            return profile_of(account)
        account = account or Account(tenant_id=profile.tenant_id, created_at=now, updated_at=now)
        _apply_profile(account, profile)
        account.updated_at = now
        session.add(account)
        await outbox.add(session, [AccountUpdated(tenant_id=profile.tenant_id, profile=profile)])
    return profile


async def get_account(*, db: Database, tenant_id: str) -> AccountProfile:
    async with db.sessions() as session:
        account = await session.get(Account, tenant_id)
    if account is None:
        raise NotFound("account not found")
    return profile_of(account)


async def update_account(*, db: Database, tenant_id: str, changes: dict) -> AccountProfile:
    unknown = set(changes) - EDITABLE
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}")
    async with db.transaction() as session:
        account = await session.get(Account, tenant_id, with_for_update=True)
        if account is None:
            raise NotFound("account not found")
        merged = profile_of(account).model_dump()
        if "address" in changes and isinstance(changes["address"], dict):
            changes = {**changes, "address": {**merged["address"], **changes["address"]}}
        merged.update(changes)
        try:
            profile = AccountProfile.model_validate(merged)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            message = str(first["msg"]).removeprefix("Value error, ")
            raise Invalid(f"{where}: {message}" if where else message) from exc
        _apply_profile(account, profile)
        account.updated_at = utcnow()
        session.add(account)
        await outbox.add(session, [AccountUpdated(tenant_id=tenant_id, profile=profile)])
    return profile
