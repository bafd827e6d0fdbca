"""The two per-debit events are built without validation (model_construct, for the ledger's speed):
what they carry must still be exactly their catalogue data model."""

from datetime import UTC, datetime

from contracts.portal.catalog import CATALOG
from services.billing import events
from services.billing.domain.ledger import Applied, Posting

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def test_transaction_created_carries_exactly_its_data_model():
    applied = Applied(Posting("usage", -120, "usage:u1", "1 minute", "u1"), balance_before=1000, balance_after=880)
    event = events.transaction_created("t1", "txn_1", applied, NOW)
    model = CATALOG[event.type].data.model_validate(event.data)
    assert model.model_dump(mode="json", exclude_unset=True).keys() == event.data.keys()


def test_balance_updated_carries_exactly_its_data_model():
    event = events.balance_updated("t1", balance=880, available=800, tx_id="txn_1", at=NOW)
    assert CATALOG[event.type].data.model_validate(event.data).balance_cents == 880
