"""Keep the newest copy of a record another service announces (billing's tenant profile, kept by
notify, payments and documents): events come again or out of order, so the newer version wins and
applying one twice stores the same row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession


async def keep_newest(
    session: AsyncSession,
    table: sa.Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    key: str = "tenant_id",
    version: str = "updated_at",
) -> None:
    """Upsert `rows` by `key`; a stored row is replaced only by one whose `version` is not older."""
    newest: dict[Any, Mapping[str, Any]] = {}
    for row in rows:  # one row per key: ON CONFLICT cannot touch a row twice in one statement
        if row[key] not in newest or newest[row[key]][version] <= row[version]:
            newest[row[key]] = row
    if not newest:
        return
    stmt = pg_insert(table).values(list(newest.values()))
    columns = next(iter(newest.values())).keys() - {key}
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[key],
            set_={c: stmt.excluded[c] for c in columns},
            where=table.c[version] <= stmt.excluded[version],
        )
    )
