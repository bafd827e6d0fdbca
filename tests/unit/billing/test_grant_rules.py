"""The burn order of promotional grants, as a pure rule: priority, then the earliest expiry (none last),
then the oldest; expired grants are never drawn; no grant below zero; the rest is paid balance's."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.billing.domain.grants import GrantBook, OpenGrant

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def at(hours: float | None) -> datetime | None:
    return None if hours is None else NOW + timedelta(hours=hours)


def test_priority_then_expiry_then_age_then_paid_balance() -> None:
    grants = [
        OpenGrant("never", 100, 100, None, NOW - timedelta(days=9)),
        OpenGrant("later", 100, 100, at(48), NOW - timedelta(days=1)),
        OpenGrant("soon-young", 100, 100, at(24), NOW - timedelta(days=1)),
        OpenGrant("soon-old", 100, 100, at(24), NOW - timedelta(days=2)),
        OpenGrant("first", 100, 5, None, NOW),
        OpenGrant("expired", 100, 0, at(-1), NOW - timedelta(days=3)),
    ]
    book = GrantBook(grants, now=NOW)

    drawn = [(a.grant_id, a.amount_cents) for a in book.draw(450)]
    rest = [(a.grant_id, a.amount_cents) for a in book.draw(100)]

    assert drawn == [("first", 100), ("soon-old", 100), ("soon-young", 100), ("later", 100), ("never", 50)]
    assert rest == [("never", 50)]  # the other 50 cents come from paid balance
    assert book.draw(10) == []


grant_lists = st.lists(
    st.tuples(st.integers(0, 300), st.sampled_from([0, 1, 100]), st.sampled_from([None, -2, 1, 5]), st.integers(0, 9)),
    max_size=6,
)


@given(grant_lists, st.lists(st.integers(1, 400), max_size=6))
def test_every_debit_draws_what_it_can_never_below_zero_never_an_expired_grant(specs, debits) -> None:
    grants = [
        OpenGrant(f"g{i}", left, prio, at(h), NOW - timedelta(days=age)) for i, (left, prio, h, age) in enumerate(specs)
    ]
    live = {g.id: g.remaining_cents for g in grants if g.expires_at is None or g.expires_at > NOW}
    book = GrantBook(grants, now=NOW)
    left = dict(live)
    for debit in debits:
        drawn = book.draw(debit)
        assert sum(a.amount_cents for a in drawn) == min(debit, sum(left.values()))
        for a in drawn:
            assert a.grant_id in live and 0 < a.amount_cents <= left[a.grant_id]
            left[a.grant_id] -= a.amount_cents
        assert all(v >= 0 for v in left.values())
