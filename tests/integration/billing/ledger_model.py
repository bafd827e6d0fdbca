"""Operations on one tenant's money, as hypothesis draws them, and a model of what they must do.

Used by test_ledger_properties: the model is deliberately naive (plain dicts, the PRODUCT.md
formulas written out again) so it cannot share a bug with the domain code it checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

TIERS = ((50000, 15), (25000, 10), (10000, 5))


def bonus(amount: int) -> int:
    return next((amount * pct // 100 for low, pct in TIERS if amount >= low), 0)


def operations():
    """(kind, key, amount) triples; small key spaces make duplicates and collisions likely."""
    key, cents = st.integers(0, 4), st.integers(0, 60_000)
    return st.lists(
        st.one_of(
            st.tuples(st.just("topup"), key, st.integers(1000, 60_000)),
            st.tuples(st.just("usage"), key, cents.map(lambda c: c // 10)),
            st.tuples(st.just("refund"), st.tuples(key, key), st.integers(1, 60_000)),
            st.tuples(st.just("reserve"), key, cents.map(lambda c: c // 5)),
            st.tuples(st.just("settle"), st.tuples(key, key), cents.map(lambda c: c // 10)),
            st.tuples(st.just("release"), key, st.just(0)),
            st.tuples(st.just("expire"), key, st.just(0)),
        ),
        min_size=1,
        max_size=18,
    )


@dataclass
class Model:
    balance: int = 0
    applied: set[str] = field(default_factory=set)  # source keys: each money effect once
    topups: dict[int, list[int]] = field(default_factory=dict)  # key → [amount, bonus, refunded, reversed]
    holds: dict[int, list] = field(default_factory=dict)  # reserve key → [status, amount]
    refunds: set[tuple] = field(default_factory=set)

    @property
    def held(self) -> int:
        return sum(amount for status, amount in self.holds.values() if status == "active")

    def topup(self, key: int, amount: int) -> None:
        if f"topup:{key}" not in self.applied:
            self.applied.add(f"topup:{key}")
            self.topups[key] = [amount, bonus(amount), 0, 0]
            self.balance += amount + bonus(amount)

    def usage(self, usage_id: str, amount: int) -> None:
        if f"usage:{usage_id}" not in self.applied:
            self.applied.add(f"usage:{usage_id}")
            self.balance -= amount

    def refund(self, refund_key: tuple, amount: int) -> None:
        if refund_key in self.refunds:
            return
        self.refunds.add(refund_key)
        a, b, refunded, reversed_ = self.topups[refund_key[1]]
        amount = min(amount, a - refunded)
        target = b * (refunded + amount) // a  # floor(B·R/A) after this refund
        self.topups[refund_key[1]] = [a, b, refunded + amount, target]
        self.balance -= amount + (target - reversed_)

    def reserve(self, key: int, amount: int) -> bool:
        if key in self.holds:
            return self.holds[key][0] in ("active", "settled")
        ok = self.balance - self.held >= amount
        self.holds[key] = ["active" if ok else "refused", amount]
        return ok

    def settle(self, key: int, usage_id: str, amount: int) -> None:
        hold = self.holds.get(key)
        if hold is None or hold[0] in ("refused", "settled"):
            return
        hold[0] = "settled"
        self.usage(usage_id, amount)

    def release(self, key: int) -> None:
        if key in self.holds and self.holds[key][0] == "active":
            self.holds[key][0] = "released"

    def expire(self, key: int) -> None:
        if key in self.holds and self.holds[key][0] == "active":
            self.holds[key][0] = "expired"
