import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from contracts.documents.v1 import GetDocumentFile, RequestStatement
from runtime.messaging import ServiceError, request
from services.documents.render_pool import Renderer
from services.documents.rendering import StatementData
from services.documents.statements import previous_month
from services.documents.tables import profiles
from tests.integration.documents.conftest import (
    ZONE,
    documents_of,
    fake_billing,
    file_of,
    pdf_text,
    profile,
    publish_profile,
    this_month,
    this_year,
)
from tests.support.stack import eventually, nats_client, running


class GatedRenderer(Renderer):
    """Holds statements back until `release` is set, so a test can see one pending."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def render(self, data):
        if isinstance(data, StatementData):
            await self.release.wait()
        return await super().render(data)


def month_of_entries(tenant_id: str, month: str) -> dict:
    at = datetime.now(UTC).isoformat()
    rows = [
        ("topup", 10_000, 10_000, "Aufladung"),
        ("bonus", 500, 10_500, "Bonus"),
        ("usage", -250, 10_250, "Telefonminuten"),
    ]
    return {
        "tenant_id": tenant_id,
        "month": month,
        "opening_balance_cents": 0,
        "closing_balance_cents": 10_250,
        "entries": [
            {
                "transaction_id": f"txn_{i}",
                "kind": k,
                "amount_cents": a,
                "balance_after_cents": b,
                "description": d,
                "reference": None,
                "created_at": at,
            }
            for i, (k, a, b, d) in enumerate(rows)
        ],
    }


async def wait_issued(nc, tenant_id: str, document_id: str):
    async def issued():
        return next(
            (d for d in await documents_of(nc, tenant_id) if d.id == document_id and d.status == "issued"), None
        )

    return await eventually(issued, timeout=60)


async def refused_with(awaitable) -> str:
    try:
        await awaitable
    except ServiceError as exc:
        return exc.code
    raise AssertionError("the request was not refused")


async def test_statement_to_date_is_pending_until_rendered_then_downloadable(documents_service, nats_url, tenant_id):
    renderer, month = GatedRenderer(), this_month()
    async with (
        running(documents_service(renderer=renderer)),
        nats_client(nats_url) as nc,
        fake_billing(
            nc,
            profiles={tenant_id: profile(tenant_id)},
            statements={(tenant_id, month): month_of_entries(tenant_id, month)},
        ),
    ):
        reply = await request(nc, RequestStatement(tenant_id=tenant_id, month=month))
        assert reply.item.status == "pending" and reply.item.number is None
        pdf_request = GetDocumentFile(tenant_id=tenant_id, document_id=reply.item.id, format="pdf")
        assert await refused_with(request(nc, pdf_request)) == "conflict"

        renderer.release.set()
        statement = await wait_issued(nc, tenant_id, reply.item.id)
        assert statement.number == f"KA-{this_year()}-000001" and statement.total_cents == 10_250
        text = pdf_text(await file_of(nc, tenant_id, statement.id))
        assert "Kontoauszug" in text and "102,50" in text and "keine Rechnung" in text
        again = await request(nc, RequestStatement(tenant_id=tenant_id, month=month))
        assert again.item.id == statement.id and again.item.status == "issued"


async def test_past_month_statement_once_and_future_months_refused(documents_service, nats_url, tenant_id):
    async with (
        running(documents_service()),
        nats_client(nats_url) as nc,
        fake_billing(nc, profiles={tenant_id: profile(tenant_id)}),
    ):
        past = previous_month(this_month())
        first = await request(nc, RequestStatement(tenant_id=tenant_id, month=past))
        await wait_issued(nc, tenant_id, first.item.id)
        second = await request(nc, RequestStatement(tenant_id=tenant_id, month=past))
        assert second.item.id == first.item.id
        xml_request = GetDocumentFile(tenant_id=tenant_id, document_id=first.item.id, format="xml")
        assert await refused_with(request(nc, xml_request)) == "not_found"

        year = datetime.now(ZONE).year
        for month in (f"{year + 1}-01", f"{year}-13", "0000-01", "1999-12"):
            assert (
                await refused_with(request(nc, RequestStatement(tenant_id=tenant_id, month=month)))
                == "validation_error"
            )
        assert len(await documents_of(nc, tenant_id, "statement")) == 1


async def test_monthly_job_issues_one_statement_per_known_tenant_across_replicas(documents_service, nats_url):
    tenants = [f"ten_job{i}_{datetime.now(UTC).timestamp():.0f}" for i in range(2)]
    now = {"at": datetime.now(UTC)}
    clock = lambda: now["at"]  # noqa: E731
    timing = {"statement_job_s": 0.2, "pending_sweep_s": 0.2, "pending_grace_s": 0}
    first, second = documents_service(clock=clock, **timing), documents_service(clock=clock, **timing)
    async with running(first), running(second), nats_client(nats_url) as nc, fake_billing(nc):
        for tenant_id in tenants:
            await publish_profile(nc.jetstream(), tenant_id)
        await eventually(lambda: _known(first, tenants), timeout=20)

        local = datetime.now(ZONE)
        next_month = datetime(local.year + (local.month == 12), local.month % 12 + 1, 2, 12, tzinfo=ZONE)
        now["at"] = next_month.astimezone(UTC) + timedelta(seconds=1)
        for tenant_id in tenants:
            [statement] = await eventually(lambda t=tenant_id: _issued(documents_of(nc, t, "statement")), timeout=60)
            assert statement.number.startswith(f"KA-{next_month.year}-")
        await asyncio.sleep(1)  # further job rounds on both replicas add nothing
        assert [len(await documents_of(nc, t, "statement")) for t in tenants] == [1, 1]


async def test_monthly_job_does_not_give_up_a_month_while_it_knows_no_tenant(documents_service, nats_url):
    tenant_id = f"ten_late_{datetime.now(UTC).timestamp():.0f}"
    local = datetime.now(ZONE)
    next_month = datetime(local.year + (local.month == 12), local.month % 12 + 1, 2, 12, tzinfo=ZONE)
    now = {"at": next_month.astimezone(UTC)}
    service = documents_service(clock=lambda: now["at"], statement_job_s=0.1, pending_sweep_s=0.2, pending_grace_s=0)
    async with running(service), nats_client(nats_url) as nc, fake_billing(nc):
        await asyncio.sleep(0.5)  # several job rounds in the new month, no profile known yet
        await publish_profile(nc.jetstream(), tenant_id)
        [statement] = await eventually(lambda: _issued(documents_of(nc, tenant_id, "statement")), timeout=60)
        assert statement.number.startswith(f"KA-{next_month.year}-")


async def _known(service, tenants: list[str]) -> bool:
    async with service.db.sessions() as session:
        rows = await session.execute(sa.select(profiles.c.tenant_id).where(profiles.c.tenant_id.in_(tenants)))
        return len(rows.all()) == len(tenants)


async def _issued(awaitable):
    items = await awaitable
    return items if items and all(d.status == "issued" for d in items) else None
