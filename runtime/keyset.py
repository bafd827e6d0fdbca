"""Keyset cursors for lists read newest first by (created_at, id): opaque to callers, refused readably
when they are not one of ours (billing's tenant list, payments' top-ups)."""

from __future__ import annotations

import base64
from datetime import datetime

from runtime.refusals import Invalid


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = f"{created_at.isoformat()}|{row_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id) of the last row of the page before; anything else is `Invalid`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, row_id = raw.split("|", 1)
        at = datetime.fromisoformat(created_at)
    except Exception as exc:
        raise Invalid("invalid cursor") from exc
    if at.tzinfo is None or not row_id:
        raise Invalid("invalid cursor")
    return at, row_id
