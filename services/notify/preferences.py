"""Which channels a tenant wants per event type: defaults (API.md), merge rules, critical events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.notify.v1 import PreferencesReply
from contracts.portal.v1 import EVENT_TYPES
from runtime.db import Database
from runtime.messaging import ServiceError
from services.notify.tables import Preference

CHANNELS = ("email", "sms", "push")
DEFAULTS: dict[str, tuple[str, ...]] = {
    "document.issued": ("email",),
    "topup.succeeded": ("push",),
    "topup.failed": ("email", "push"),
    "balance.low": ("email", "push"),
    "balance.depleted": ("email", "sms", "push"),
    "autotopup.failed": ("email",),
    "autotopup.paused": ("email", "sms"),
    "autotopup.disabled": ("email", "sms"),
    "webhook_endpoint.disabled": ("email",),
}
# A customer must hear about these somehow: a change that leaves them without a channel is refused.
CRITICAL = frozenset({"topup.failed", "autotopup.disabled", "balance.depleted"})

preferences = Preference.__table__


def validate_changes(changes: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """The PUT body, checked: known, notifiable event types; known channels; critical ones kept."""
    checked: dict[str, tuple[str, ...]] = {}
    for event_type, channels in changes.items():
        if event_type not in EVENT_TYPES:
            raise ServiceError("validation_error", f"unknown event type {event_type!r}")
        if event_type not in DEFAULTS:
            raise ServiceError("validation_error", f"{event_type!r} is not sent by email, SMS or push "
                                                   "(webhook endpoints can subscribe to it)")
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            raise ServiceError("validation_error", f"unknown channel {unknown[0]!r} for {event_type!r}")
        chosen = tuple(c for c in CHANNELS if c in set(channels))
        if not chosen and event_type in CRITICAL:
            raise ServiceError("validation_error", f"{event_type!r} is critical: keep at least one channel")
        checked[event_type] = chosen
    return checked


def merged(overrides: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    return {t: list(overrides.get(t, default)) for t, default in DEFAULTS.items()}


async def load_overrides(session: AsyncSession, tenant_ids: Iterable[str]) -> dict[str, dict[str, tuple]]:
    """Per tenant, the event types whose channels differ from the defaults."""
    ids = list(set(tenant_ids))
    found: dict[str, dict[str, tuple]] = {t: {} for t in ids}
    if not ids:
        return found
    query = sa.select(preferences).where(preferences.c.tenant_id.in_(ids))
    for row in (await session.execute(query)).all():
        found[row.tenant_id][row.event_type] = tuple(c for c in row.channels.split(",") if c)
    return found


def channels_for(overrides: Mapping[str, tuple], event_type: str) -> tuple[str, ...]:
    return tuple(overrides.get(event_type, DEFAULTS.get(event_type, ())))


async def get_preferences(*, db: Database, tenant_id: str) -> PreferencesReply:
    async with db.sessions() as session:
        overrides = (await load_overrides(session, [tenant_id]))[tenant_id]
    return PreferencesReply(preferences=merged(overrides))


async def update_preferences(*, db: Database, tenant_id: str, changes: Mapping[str, list[str]]) -> PreferencesReply:
    checked = validate_changes(changes)
    now = utcnow()
    async with db.transaction() as session:
        if checked:
            rows = [{"tenant_id": tenant_id, "event_type": t, "channels": ",".join(c), "updated_at": now}
                    for t, c in checked.items()]
            stmt = pg_insert(preferences).values(rows)
            stmt = stmt.on_conflict_do_update(index_elements=["tenant_id", "event_type"],
                                              set_={"channels": stmt.excluded.channels, "updated_at": now})
            await session.execute(stmt)
        overrides = (await load_overrides(session, [tenant_id]))[tenant_id]
    return PreferencesReply(preferences=merged(overrides))
