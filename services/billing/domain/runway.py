"""How many days the available balance lasts at the recent burn rate."""

from __future__ import annotations

WINDOW_DAYS = 7  # the local days (today included) whose usage sets the burn rate


def projected_days_left(
    *, available_cents: int, usage_last_days: list[int], window_days: int = WINDOW_DAYS
) -> int | None:
    """0 when nothing is available; None without recent usage; else floor(available / daily burn).

    The daily burn is the window's usage / `window_days`; integer arithmetic keeps it exact (no floats).
    """
    if available_cents <= 0:
        return 0
    total = sum(usage_last_days[-window_days:])
    if total <= 0:
        return None
    return available_cents * window_days // total
