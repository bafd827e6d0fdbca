"""The NATS permission matrix (runtime.nats_permissions) covers what every service really does.

Each service is built with its production composition root; every durable consumer and request
handler it registers must be within its permissions. The source of each service is read for the
requests it sends and the events it builds: a service may send only requests that name it among
their `callers`, and build only events of its own streams and its own portal types. Adding a
consumer, a request or an event without its one line in `contracts/` fails here.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from contracts.base import Event, Request, registry
from contracts.portal.v1 import EVENT_TYPES, PRODUCERS
from runtime.nats_permissions import (
    BROADCASTS,
    KV_BUCKETS,
    SERVICES,
    durables,
    matrix,
    owned_streams,
    subject_matches,
)

ROOT = Path(__file__).resolve().parents[3]
SETTINGS = {
    "payments": "PaymentsSettings",
    "billing": "BillingSettings",
    "documents": "DocumentsSettings",
    "notify": "NotifySettings",
    "gateway": "GatewaySettings",
}


def built(service: str, tmp_path):
    app = importlib.import_module(f"services.{service}.app")
    settings_cls = getattr(importlib.import_module(f"services.{service}.config"), SETTINGS[service])
    extra = {"documents_store": str(tmp_path / "docs")} if service == "documents" else {}
    # building connects to nothing: the URL only has to be PostgreSQL's
    return app.build(
        settings_cls(app_env="test", var_dir=str(tmp_path), database_url="postgresql://build@127.0.0.1:1/x", **extra)
    )


@pytest.mark.parametrize("service", SERVICES)
def test_every_consumer_a_service_registers_is_in_its_permissions(service, tmp_path):
    declared = {d.name: d for d in durables() if d.service == service}
    perms = matrix()[service]
    for consumer in built(service, tmp_path).consumers:
        assert consumer.durable in declared, (
            f"{service} consumes {consumer.message_cls.__name__} as {consumer.durable!r}: add it to its `durables`"
        )
        d = declared[consumer.durable]
        assert (d.stream, d.filter_subject) == (
            consumer.message_cls.stream,
            consumer.subject or consumer.message_cls.subject,
        )
        assert perms.may_publish(f"$JS.API.CONSUMER.MSG.NEXT.{d.stream}.{d.name}")
        assert perms.may_publish(f"$JS.ACK.{d.stream}.{d.name}.1.1.1.1.1")
        assert perms.may_publish(f"dlq.{d.name}")


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_a_service_answers_is_in_its_permissions(service, tmp_path):
    perms = matrix()[service]
    subjects = [sub.subject.broker_address for sub in built(service, tmp_path).broker.subscribers]
    for subject in subjects:
        assert perms.may_subscribe(subject), f"{service} answers {subject}: not in its permissions"
    answered = {cls.subject for cls in registry() if issubclass(cls, Request) and cls.responder() == service}
    assert answered == set(subjects), "every request of contracts/ is answered by the service its subject names"


def constructed(service: str) -> list[tuple[str, ast.Call]]:
    """(class name, call) for every `Name(...)` / `Name.model_construct(...)` in the service's code."""
    found = []
    for path in (ROOT / "services" / service).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "model_construct":
                func = func.value
            if isinstance(func, ast.Name):
                found.append((func.id, node))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_sends_only_requests_that_name_it_among_their_callers(service):
    requests = {cls.__name__: cls for cls in registry() if issubclass(cls, Request)}
    perms = matrix()[service]
    for name, _ in constructed(service):
        cls = requests.get(name)
        if cls is not None and cls.responder() != service:
            assert service in cls.callers, f"{service} sends {cls.subject}: add it to {name}.callers"
            assert perms.may_publish(cls.subject)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_builds_only_events_it_may_publish(service):
    events = {cls.__name__: cls for cls in registry() if issubclass(cls, Event)}
    perms = matrix()[service]
    for name, call in constructed(service):
        if name in events:
            assert perms.may_publish(events[name].subject), f"{service} builds {name}: not its stream"
        if name == "PortalEvent":
            kind = next((k.value for k in call.keywords if k.arg == "type"), None)
            if isinstance(kind, ast.Constant):
                assert PRODUCERS.get(kind.value) == service, f"{service} emits {kind.value}: see PRODUCERS"
                assert perms.may_publish(f"portal.{kind.value}.v1")


def test_every_customer_visible_event_has_one_producer():
    assert set(PRODUCERS) == set(EVENT_TYPES)
    assert set(PRODUCERS.values()) <= set(SERVICES)


def test_durables_are_named_after_a_service_and_unique():
    names = [d.name for d in durables()]
    assert len(names) == len(set(names))
    assert {d.service for d in durables()} <= set(SERVICES)


def test_the_gateway_bucket_and_broadcast_are_the_ones_in_its_code():
    from services.gateway.ratelimit import BUCKET
    from services.gateway.revocations import SUBJECT as REVOKED_SUBJECT

    assert BUCKET in KV_BUCKETS["gateway"]
    assert any(subject_matches(p, REVOKED_SUBJECT) for p in BROADCASTS["gateway"])


def test_no_service_may_touch_another_services_stream_or_durable():
    perms = matrix()
    for service in SERVICES:
        others = [d for d in durables() if d.service != service]
        for d in others:
            for op in ("INFO", "MSG.NEXT", "DELETE", "CREATE"):
                assert not perms[service].may_publish(f"$JS.API.CONSUMER.{op}.{d.stream}.{d.name}"), (service, d)
            assert not perms[service].may_publish(f"$JS.API.CONSUMER.CREATE.{d.stream}.{d.name}.{d.filter_subject}")
            assert not perms[service].may_publish(f"$JS.ACK.{d.stream}.{d.name}.1.1.1.1.1")
        for other in SERVICES:
            if other != service:
                for spec in owned_streams(other):
                    assert not perms[service].may_publish(f"$JS.API.STREAM.UPDATE.{spec.name}")
                    assert not any(perms[service].may_publish(s.replace("*", "x")) for s in spec.subjects)
    for service in SERVICES:
        assert not perms[service].may_subscribe(">") and not perms[service].may_subscribe("_INBOX.>")


def test_the_platform_may_send_usage_and_reservations_and_nothing_else():
    platform = matrix()["platform"]
    assert platform.may_publish("usage.recorded.v1")
    for subject in ("billing.reserve.v1", "billing.settle.v1", "billing.release.v1"):
        assert platform.may_publish(subject)
    for subject in (
        "payments.topup.paid.v1",
        "rpc.billing.balance.v1",
        "$JS.API.STREAM.INFO.USAGE",
        "portal.balance.updated.v1",
        "dlq.billing-usage",
    ):
        assert not platform.may_publish(subject)
    for subject in ("portal.>", "gateway.>", "rpc.>", "_INBOX_billing.>", "$JS.>"):
        assert not platform.may_subscribe(subject)


def test_the_gateway_may_publish_usage_and_ask_for_reservations_for_platforms_on_http():
    gateway = matrix()["gateway"]
    for subject in ("usage.recorded.v1", "billing.reserve.v1", "billing.settle.v1", "billing.release.v1"):
        assert gateway.may_publish(subject)
    for subject in ("$JS.API.STREAM.UPDATE.USAGE", "$JS.API.STREAM.DELETE.USAGE", "$JS.API.CONSUMER.CREATE.USAGE"):
        assert not gateway.may_publish(subject)
    assert not gateway.may_subscribe("usage.recorded.v1") and not gateway.may_subscribe("billing.reserve.v1")


def test_the_operations_guide_shows_the_current_matrix():
    from runtime.nats_auth import with_matrix

    guide = (ROOT / "docs" / "operations.md").read_text()
    assert with_matrix(guide) == guide, "run: make nats-auth"
