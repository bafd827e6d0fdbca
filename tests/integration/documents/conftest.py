"""Documents on real NATS and PostgreSQL, with billing's side played by a small NATS responder."""

from __future__ import annotations

import base64
import io
import json
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from contracts.billing.v1 import AccountProfile, AccountUpdated, Address, RefundRecorded, TopupCredited
from contracts.documents.v1 import GetDocumentFile, ListDocuments
from devtools.infra import service_nats_settings
from runtime.messaging import request
from services.documents.app import build
from services.documents.config import DocumentsSettings

ZONE = ZoneInfo("Europe/Berlin")


def this_year() -> int:
    return datetime.now(ZONE).year


def this_month() -> str:
    return datetime.now(ZONE).strftime("%Y-%m")


@pytest.fixture
def documents_service(nats_url, database_url, new_schema, tmp_path):
    """Call for a documents replica; replicas made by one test share schema and store."""
    schema = new_schema("doc")

    def make(**kw):
        overrides = {k: kw.pop(k) for k in ("renderer", "store", "clock") if k in kw}
        kw.setdefault("documents_store", str(tmp_path / "store"))
        settings = DocumentsSettings(
            **service_nats_settings(nats_url, "documents"),
            database_url=database_url,
            db_schema=schema,
            app_env="test",
            port=0,
            **kw,
        )
        return build(settings, **overrides)

    return make


def profile(
    tenant_id: str,
    *,
    name: str = "Muster Telefonie GmbH",
    country: str = "DE",
    vat_id: str | None = None,
    locale: str = "de",
) -> AccountProfile:
    return AccountProfile(
        tenant_id=tenant_id,
        name=name,
        email="buchhaltung@muster.example",
        country=country,
        vat_id=vat_id,
        locale=locale,
        address=Address(line1="Hauptstraße 1", postal_code="10115", city="Berlin"),
    )


async def publish(js, event, *, msg_id: str | None = None) -> None:
    await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id or event.event_id})


async def publish_profile(js, tenant_id: str, **kw) -> None:
    await publish(js, AccountUpdated(tenant_id=tenant_id, profile=profile(tenant_id, **kw)))


def topup(tenant_id: str, topup_id: str, amount_cents: int = 10_000, bonus_cents: int = 0) -> TopupCredited:
    return TopupCredited(
        tenant_id=tenant_id,
        topup_id=topup_id,
        amount_cents=amount_cents,
        bonus_cents=bonus_cents,
        payment_reference=f"pi_{topup_id}",
        paid_at=datetime.now(UTC),
        transaction_id=f"txn_{topup_id}",
    )


def refund(tenant_id: str, topup_id: str, refund_id: str, amount_cents: int) -> RefundRecorded:
    return RefundRecorded(
        tenant_id=tenant_id,
        refund_id=refund_id,
        topup_id=topup_id,
        amount_cents=amount_cents,
        bonus_reversed_cents=0,
        refunded_at=datetime.now(UTC),
        transaction_id=f"txn_{refund_id}",
    )


async def documents_of(nc, tenant_id: str, kind: str | None = None):
    return (await request(nc, ListDocuments(tenant_id=tenant_id, kind=kind))).items


async def file_of(nc, tenant_id: str, document_id: str, fmt: str = "pdf") -> bytes:
    reply = await request(nc, GetDocumentFile(tenant_id=tenant_id, document_id=document_id, format=fmt), timeout=15)
    return base64.b64decode(reply.content_b64)


def attachments(pdf: bytes) -> dict[str, list[bytes]]:
    return PdfReader(io.BytesIO(pdf)).attachments


def pdf_text(pdf: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)


@asynccontextmanager
async def fake_billing(nc, *, profiles: dict[str, AccountProfile] | None = None, statements: dict | None = None):
    """Answers GetAccount from `profiles` and GetStatement from `statements` ((tenant, month) → reply dict,
    empty month by default), as billing would."""
    profiles, statements = profiles or {}, statements or {}

    async def on_account(msg):
        tenant_id = json.loads(msg.data)["tenant_id"]
        found = profiles.get(tenant_id)
        body = (
            {"profile": found.model_dump(mode="json")}
            if found
            else {"error": {"code": "not_found", "message": "account not found"}}
        )
        await msg.respond(json.dumps(body).encode())

    async def on_statement(msg):
        req = json.loads(msg.data)
        body = statements.get((req["tenant_id"], req["month"])) or {
            "tenant_id": req["tenant_id"],
            "month": req["month"],
            "opening_balance_cents": 0,
            "closing_balance_cents": 0,
            "entries": [],
        }
        await msg.respond(json.dumps(body).encode())

    subs = [
        await nc.subscribe("rpc.billing.account.get.v1", cb=on_account),
        await nc.subscribe("rpc.billing.statement.v1", cb=on_statement),
    ]
    await nc.flush()
    try:
        yield
    finally:
        for sub in subs:
            await sub.unsubscribe()
