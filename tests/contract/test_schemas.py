"""A published schema never changes incompatibly without a new version (`.vN` subject)."""

import json

import pytest

from contracts.asyncapi import SNAPSHOT, document, message_schemas
from contracts.retired import RETIRED

BASELINE = json.loads(SNAPSHOT.read_text())


def _type_of(prop: dict) -> object:
    return prop.get("type") or prop.get("$ref") or prop.get("anyOf") or prop.get("enum") or prop.get("const")


@pytest.mark.parametrize("subject", sorted(BASELINE))
def test_published_schema_changes_only_compatibly(subject):
    current = message_schemas().get(subject)
    if current is None and subject.split("#")[0] in RETIRED:
        return  # retired, with the decision written down in contracts/retired.py
    assert current is not None, f"{subject} was removed: keep it, publish a new version or retire it"
    old = BASELINE[subject]
    old_props, new_props = old.get("properties", {}), current.get("properties", {})
    for name, prop in old_props.items():
        assert name in new_props, f"{subject}: field {name!r} removed — publish {subject} under a new version"
        assert _type_of(new_props[name]) == _type_of(prop), f"{subject}: field {name!r} retyped — new version needed"
    added_required = set(current.get("required", [])) - set(old.get("required", []))
    assert not added_required, f"{subject}: new required fields {added_required} — new version needed"


@pytest.mark.parametrize("subject", sorted(RETIRED))
def test_a_retired_subject_is_published_no_more(subject):
    assert subject not in message_schemas() and RETIRED[subject].strip()


def test_every_subject_is_versioned():
    for subject in message_schemas():
        base = subject.split("#")[0]
        assert base.rsplit(".", 1)[-1].startswith("v"), f"{base} has no version suffix"


def test_asyncapi_document_lists_every_customer_event_and_the_fixed_contracts():
    doc = document()
    addresses = {c["address"] for c in doc["channels"].values()}
    for subject in (
        "usage.recorded.v1",
        "billing.reserve.v1",
        "billing.settle.v1",
        "billing.release.v1",
        "portal.balance.updated.v1",
        "portal.webhook_endpoint.disabled.v1",
    ):
        assert subject in addresses
    assert doc["asyncapi"].startswith("3.")
