"""The usage chart: 30 bars as inline SVG rendered here; the page's script rescales them live."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, GAP = 600, 160, 2


@dataclass(frozen=True)
class Bar:
    date: str
    cents: int
    quantity: float
    x: float
    y: float
    width: float
    height: float


def usage_bars(days: list) -> list[Bar]:
    """`days` are billing's `usage_by_day` items (oldest first); the tallest bar fills the height."""
    if not days:
        return []
    peak = max((d.amount_cents for d in days), default=0) or 1
    slot = WIDTH / len(days)
    bars = []
    for i, day in enumerate(days):
        height = round(max(day.amount_cents, 0) / peak * (HEIGHT - 4), 1)
        bars.append(
            Bar(
                date=day.date,
                cents=day.amount_cents,
                quantity=day.quantity,
                x=round(i * slot + GAP / 2, 1),
                y=round(HEIGHT - height, 1),
                width=round(slot - GAP, 1),
                height=height,
            )
        )
    return bars
