"""The ledger's hot path writes `transaction.created` as JSON itself (`events.transaction_created_row`):
byte for byte what the model path wrote before it, whatever the posting carries, and a valid event."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from contracts.portal.v1 import PortalEvent
from contracts.usage.v1 import UsageRecorded
from services.billing import events
from services.billing.domain.ledger import Applied, Posting
from services.billing.use_cases import usage_posting

NOW = datetime(2026, 12, 4, 10, 0, 0, 123456, tzinfo=UTC)


def validated(tenant_id: str, tx_id: str, applied: Applied, at: datetime, event_id: str, payload: bytes) -> bytes:
    """What the model path (`events.transaction_created`) dumps for the same event; and the payload is
    a valid `transaction.created` by every check a producer's event passes."""
    event = PortalEvent.model_validate_json(payload)  # not from the wire: `data` checked against its model
    assert (event.id, event.type, event.tenant_id, event.occurred_at) == (
        event_id,
        "transaction.created",
        tenant_id,
        at,
    )
    return (
        events.transaction_created(tenant_id, tx_id, applied, at)
        .model_copy(update={"id": event_id})
        .model_dump_json()
        .encode()
    )


def row(tenant_id: str, tx_id: str, applied: Applied, at: datetime) -> tuple[str, str, bytes]:
    return events.transaction_created_row(tenant_id, tx_id, applied, events.Stamp(at))


def test_a_usage_debit_is_written_as_its_validated_event():
    applied = Applied(Posting("usage", -120, "usage:u1", "1 minute", "u1"), balance_before=1000, balance_after=880)
    event_id, subject, payload = row("t1", "txn_1", applied, NOW)
    assert subject == "portal.transaction.created.v1"
    assert payload == validated("t1", "txn_1", applied, NOW, event_id, payload)


def test_no_reference_whole_seconds_and_a_negative_balance():
    applied = Applied(Posting("adjustment", -5, "adj:1", "Korrektur", None), balance_before=0, balance_after=-5)
    at = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC)
    event_id, _, payload = row("t1", "txn_2", applied, at)
    assert payload == validated("t1", "txn_2", applied, at, event_id, payload)


text = st.text(st.characters(codec="utf-8"), max_size=40)  # what a usage message can carry (no lone surrogates)


@given(
    tenant_id=text.filter(bool),
    usage_id=text.filter(bool),
    description=text,
    unit=st.text(st.characters(codec="utf-8"), max_size=32),
    quantity=st.floats(min_value=0, max_value=1e12, allow_nan=False),
    cents=st.integers(min_value=0, max_value=10**11),
    before=st.integers(min_value=-(10**12), max_value=10**12),
    micros=st.integers(min_value=0, max_value=999_999),
)
def test_any_usage_is_written_as_its_validated_event(
    tenant_id, usage_id, description, unit, quantity, cents, before, micros
):
    record = UsageRecorded(
        id=usage_id,
        tenant_id=tenant_id,
        amount_cents=cents,
        quantity=quantity,
        unit=unit,
        description=description,
        occurred_at=NOW,
    )
    posting = usage_posting(record)
    applied = Applied(posting, balance_before=before, balance_after=before + posting.amount_cents)
    at = NOW.replace(microsecond=micros)
    event_id, _, payload = row(tenant_id, "txn_3", applied, at)
    assert payload == validated(tenant_id, "txn_3", applied, at, event_id, payload)
