"""Which channels a tenant wants per event type: defaults and merge rules, all from the
catalogue (`contracts.portal.catalog`).

Decision (docs/architecture.md): `balance.updated` and `transaction.created` are not notifiable — they
happen with every debit, so a mail or SMS per call would flood the customer. `[]` is accepted for them
(they are off), a channel is refused with a 400 that says so; they reach customers live and by webhook."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.base import utcnow
from contracts.notify.v1 import Channel, PreferencesReply
from contracts.portal.catalog import CATALOG, NOTIFIABLE, default_channels
from runtime.db import Database
from runtime.refusals import Invalid
from runtime.tables import table_of
from services.notify.tables import Preference

CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
DEFAULTS = default_channels()  # every event type of the catalogue, API.md's defaults

preferences = table_of(Preference)


def validate_changes(changes: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """The PUT body, checked: known event types, known channels, channels only for notifiable types.

    `[]` switches any type off (API.md), the critical ones too: the portal marks those as recommended."""
    checked: dict[str, tuple[str, ...]] = {}
    for event_type, channels in changes.items():
        if event_type not in CATALOG:
            raise Invalid(f"unknown event type {event_type!r}")
        unknown = [c for c in channels if c not in CHANNELS]
        if unknown:
            raise Invalid(f"unknown channel {unknown[0]!r} for {event_type!r}")
        chosen = tuple(c for c in CHANNELS if c in set(channels))
        if chosen and event_type not in NOTIFIABLE:
            raise Invalid(
                f"{event_type!r} happens with every transaction: it reaches you "
                "live (GET /v1/stream) and by webhook, not by email, SMS or push "
                "(balance.low and balance.depleted are the alerts)"
            )
        checked[event_type] = chosen
    return checked


def merged(overrides: Mapping[str, tuple[str, ...]]) -> dict[str, list[str]]:
    """Every SSE event type with its channels: the tenant's choice, else the default."""
    return {t: list(channels_for(overrides, t)) for t in DEFAULTS}


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
    if event_type not in NOTIFIABLE:
        return ()
    return tuple(overrides.get(event_type, DEFAULTS.get(event_type, ())))


async def get_preferences(*, db: Database, tenant_id: str) -> PreferencesReply:
    async with db.sessions() as session:
        overrides = (await load_overrides(session, [tenant_id]))[tenant_id]
    return PreferencesReply(preferences=merged(overrides))


async def update_preferences(*, db: Database, tenant_id: str, changes: Mapping[str, list[str]]) -> PreferencesReply:
    checked = {t: c for t, c in validate_changes(changes).items() if t in NOTIFIABLE}  # others: always []
    now = utcnow()
    async with db.transaction() as session:
        if checked:
            rows = [
                {"tenant_id": tenant_id, "event_type": t, "channels": ",".join(c), "updated_at": now}
                for t, c in checked.items()
            ]
            stmt = pg_insert(preferences).values(rows)
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant_id", "event_type"], set_={"channels": stmt.excluded.channels, "updated_at": now}
            )
            await session.execute(stmt)
        overrides = (await load_overrides(session, [tenant_id]))[tenant_id]
    return PreferencesReply(preferences=merged(overrides))
