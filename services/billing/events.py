"""Customer-visible events billing produces (API.md), built from applied postings.

The two per-debit events are built with `model_construct`: every field comes typed from the ledger,
and skipping validation (and uuid4) halves the CPU of the event a debit costs at 2,000 debits/s.

On the ledger's hot path (`use_cases.post_entries`) `transaction.created` is not built as a model at
all: `transaction_created_row` writes the JSON that `transaction_created(...).model_dump_json()`
would write, byte for byte (tests/unit/billing/test_event_bytes.py holds it to a validated
`PortalEvent`), at a third of its CPU — one event per debit was a tenth of billing's CPU per debit.
"""

from __future__ import annotations

import os
from datetime import datetime
from json.encoder import encode_basestring as _json_str  # the escaping pydantic's serializer does

import pydantic_core

from contracts.portal.v1 import PortalEvent
from contracts.subjects import portal_subject
from services.billing.domain.ledger import Applied

TRANSACTION_CREATED_SUBJECT = portal_subject("transaction.created")


def event_id() -> str:
    """Same shape as contracts.base.new_id("evt_"): 128 random bits in hex."""
    return f"evt_{os.urandom(16).hex()}"


def random_hex_ids(count: int) -> list[str]:
    """`count` ids of 128 random bits in hex each (`os.urandom(16).hex()` each), from one system call."""
    pool = os.urandom(16 * count).hex()
    return [pool[i : i + 32] for i in range(0, 32 * count, 32)]


def transaction_created(tenant_id: str, tx_id: str, applied: Applied, created_at: datetime) -> PortalEvent:
    p = applied.posting
    return PortalEvent.model_construct(
        id=event_id(),
        type="transaction.created",
        tenant_id=tenant_id,
        occurred_at=created_at,
        data={
            "id": tx_id,
            "kind": p.kind,
            "amount_cents": p.amount_cents,
            "balance_after_cents": applied.balance_after,
            "description": p.description,
            "reference": p.reference,
            "created_at": created_at.isoformat(),
        },
    )


class Stamp:
    """One batch's moment as the JSON of an event's `occurred_at` and of the transaction's `created_at`."""

    __slots__ = ("created_at", "occurred_at")

    def __init__(self, at: datetime) -> None:
        self.occurred_at = pydantic_core.to_json(at).decode()  # as PortalEvent.occurred_at serializes
        self.created_at = _json_str(at.isoformat())  # as transaction_created puts it in `data`


def transaction_created_row(
    tenant_id: str, tx_id: str, applied: Applied, stamp: Stamp, eid: str | None = None
) -> tuple[str, str, bytes]:
    """(event id, subject, payload) of `transaction_created(tenant_id, tx_id, applied, at)`, serialized;
    `eid` is its id when the caller has made one (an `event_id()`'s shape), else a new one."""
    p = applied.posting
    eid = eid or event_id()
    payload = (
        f'{{"id":"{eid}","type":"transaction.created","tenant_id":{_json_str(tenant_id)},'
        f'"occurred_at":{stamp.occurred_at},"data":{{"id":{_json_str(tx_id)},"kind":{_json_str(p.kind)},'
        f'"amount_cents":{int(p.amount_cents)},"balance_after_cents":{int(applied.balance_after)},'
        f'"description":{_json_opt(p.description)},"reference":{_json_opt(p.reference)},'
        f'"created_at":{stamp.created_at}}}}}'
    )
    return eid, TRANSACTION_CREATED_SUBJECT, payload.encode()


def _json_opt(value: str | None) -> str:
    return "null" if value is None else _json_str(value)


def balance_updated(tenant_id: str, *, balance: int, available: int, tx_id: str | None, at: datetime) -> PortalEvent:
    return PortalEvent.model_construct(
        id=event_id(),
        type="balance.updated",
        tenant_id=tenant_id,
        occurred_at=at,
        data={"balance_cents": balance, "available_cents": available, "transaction_id": tx_id},
    )


def alert(tenant_id: str, kind: str, *, balance: int, threshold: int, at: datetime) -> PortalEvent:
    return PortalEvent(
        type=kind, tenant_id=tenant_id, occurred_at=at, data={"balance_cents": balance, "threshold_cents": threshold}
    )
