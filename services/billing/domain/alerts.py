"""Balance alerts fire once per crossing, not once per debit (API.md)."""

from __future__ import annotations

from typing import Literal

Alert = Literal["balance.low", "balance.depleted"]


def crossings(*, before: int, after: int, threshold: int) -> list[Alert]:
    alerts: list[Alert] = []
    if before >= threshold > after:
        alerts.append("balance.low")
    if before > 0 >= after:
        alerts.append("balance.depleted")
    return alerts
