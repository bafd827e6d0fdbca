"""Gap-free numbers under concurrency (two replicas) and a failure between numbering and storing."""

import asyncio
from datetime import UTC, datetime

from services.documents.render_pool import Renderer
from tests.integration.documents.conftest import documents_of, fake_billing, profile, publish, this_year, topup
from tests.support.stack import eventually, nats_client, running


class FailsOnceFor(Renderer):
    """Raises for one top-up's invoice the first time, after its number was taken."""

    def __init__(self, topup_id: str) -> None:
        self.topup_id = topup_id
        self.failed = False

    def render_sync(self, data):
        if not self.failed and data.payment_reference == f"pi_{self.topup_id}":
            self.failed = True
            raise RuntimeError(f"simulated crash while rendering {data.number}")
        return super().render_sync(data)


async def _all_invoice_numbers(nc, tenants: list[str]) -> list[str]:
    docs = [d for t in tenants for d in await documents_of(nc, t, "invoice")]
    return sorted(d.number for d in docs)


async def test_fifty_concurrent_topups_on_two_replicas_get_numbers_without_gap(documents_service, nats_url):
    tenants = [f"ten_num{i}_{id(nats_url) % 10_000}" for i in range(5)]
    # one replica renders in a thread, the other in a pool of two worker processes
    first, second = documents_service(), documents_service(documents_render_processes=2)
    async with (
        running(first),
        running(second),
        nats_client(nats_url) as nc,
        fake_billing(nc, profiles={t: profile(t) for t in tenants}),
    ):
        js = nc.jetstream()
        await asyncio.gather(
            *[publish(js, topup(tenants[i % 5], f"tp_{i}_{tenants[i % 5]}", 1_000 + i)) for i in range(50)]
        )

        numbers = await eventually(lambda: _when_count(_all_invoice_numbers(nc, tenants), 50), timeout=180)
        year = this_year()
        assert numbers == [f"RE-{year}-{n:06d}" for n in range(1, 51)]


async def test_a_failure_after_numbering_leaves_no_gap(documents_service, nats_url, tenant_id):
    renderer = FailsOnceFor(f"tp_7_{tenant_id}")
    async with (
        running(documents_service(renderer=renderer)),
        nats_client(nats_url) as nc,
        fake_billing(nc, profiles={tenant_id: profile(tenant_id)}),
    ):
        js = nc.jetstream()
        await asyncio.gather(*[publish(js, topup(tenant_id, f"tp_{i}_{tenant_id}")) for i in range(12)])

        numbers = await eventually(lambda: _when_count(_all_invoice_numbers(nc, [tenant_id]), 12), timeout=60)
        assert renderer.failed
        assert numbers == [f"RE-{this_year()}-{n:06d}" for n in range(1, 13)]


async def _when_count(awaitable, expected: int):
    numbers = await awaitable
    return numbers if len(numbers) >= expected else None


async def test_the_number_year_is_the_local_year_of_the_issue_date(documents_service, nats_url, tenant_id):
    """23:00 UTC on 31 December is already 1 January in Berlin: a new year and a new series."""
    now = {"at": datetime(2026, 12, 31, 22, 59, 59, tzinfo=UTC)}
    async with (
        running(documents_service(clock=lambda: now["at"])),
        nats_client(nats_url) as nc,
        fake_billing(nc, profiles={tenant_id: profile(tenant_id)}),
    ):
        js = nc.jetstream()
        await publish(js, topup(tenant_id, f"tp_old_{tenant_id}"))
        assert await eventually(lambda: _when_count(_all_invoice_numbers(nc, [tenant_id]), 1)) == ["RE-2026-000001"]
        now["at"] = datetime(2026, 12, 31, 23, 0, tzinfo=UTC)
        await publish(js, topup(tenant_id, f"tp_new_{tenant_id}"))
        numbers = await eventually(lambda: _when_count(_all_invoice_numbers(nc, [tenant_id]), 2))
    assert numbers == ["RE-2026-000001", "RE-2027-000001"]
