"""What contracts/ declares is what the services do: every event is produced and consumed, every
customer-visible type has a typed data model, and an event is validated against it when it is built."""

import ast
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.asyncapi import document
from contracts.base import Event, registry
from contracts.portal.catalog import CATALOG, EVENT_TYPES
from contracts.portal.v1 import PortalEvent

SERVICES = Path(__file__).resolve().parents[2] / "services"


def _names_built_in_services() -> set[str]:
    """Class names called somewhere in services/ (a producer builds its event by calling the class)."""
    built: set[str] = set()
    for path in SERVICES.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                built.add(node.func.id)
    return built


INTERNAL_EVENTS = [cls for cls in registry() if issubclass(cls, Event)]


@pytest.mark.parametrize("event", INTERNAL_EVENTS, ids=lambda cls: cls.subject)
def test_every_internal_event_is_published_by_a_service(event):
    assert event.__name__ in _names_built_in_services(), f"{event.subject} is declared but no service publishes it"


@pytest.mark.parametrize("event", INTERNAL_EVENTS, ids=lambda cls: cls.subject)
def test_every_internal_event_has_a_consumer(event):
    assert event.durables, f"{event.subject} is declared but nobody consumes it"


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_customer_visible_type_has_a_data_model_with_fields(event_type):
    model = CATALOG[event_type].data
    assert model.model_fields, f"{event_type} has no typed data model"
    assert model.model_config.get("extra") == "forbid", f"{event_type}: undocumented fields would pass"


def test_an_event_is_validated_against_its_data_model_when_it_is_built():
    with pytest.raises(ValidationError):
        PortalEvent(
            type="topup.succeeded",
            tenant_id="t1",
            data={"topup_id": "top_1", "amount_cents": 100, "bonus_cents": 0, "undocumented": "x"},
        )
    with pytest.raises(ValidationError):
        PortalEvent(type="document.issued", tenant_id="t1", data={"id": "doc_1", "kind": "invoice"})  # no number
    built = PortalEvent(type="balance.low", tenant_id="t1", data={"balance_cents": 900, "threshold_cents": 1000})
    assert built.data == {"balance_cents": 900, "threshold_cents": 1000}


def test_reading_an_event_from_the_wire_stays_lenient_to_fields_added_later():
    raw = (
        '{"id": "evt_1", "type": "balance.low", "tenant_id": "t1", "occurred_at": "2026-12-01T00:00:00Z", '
        '"data": {"balance_cents": 900, "threshold_cents": 1000, "added_in_a_later_release": true}}'
    )
    assert PortalEvent.from_wire(raw).data["added_in_a_later_release"] is True


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_the_asyncapi_document_shows_each_types_data_fields(event_type):
    messages = document()["components"]["messages"]
    payload = messages[f"portal_{event_type.replace('.', '_')}_v1"]["payload"]
    assert set(payload["properties"]["data"]["properties"]) == set(CATALOG[event_type].data.model_fields)
