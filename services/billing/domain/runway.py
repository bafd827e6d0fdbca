"""How many days the available balance lasts at the recent burn rate."""

from __future__ import annotations

import math


def projected_days_left(*, available_cents: int, usage_last_days: list[int], window_days: int = 7) -> int | None:
    """None without recent usage; 0 when nothing is available; else floor(available / daily burn)."""
    if available_cents <= 0:
        return 0
    recent = usage_last_days[-window_days:]
    total = sum(recent)
    if total <= 0:
        return None
    daily = total / window_days
    return math.floor(available_cents / daily)
