"""A Stripe event accepted while a worker finishes its round is processed at once, not at the next poll."""

import asyncio
import time

from services.payments.webhooks import WebhookWorkers


async def test_event_accepted_during_a_round_is_not_left_for_the_next_poll():
    workers = WebhookWorkers(db=None, adapter=None, portal_url=None, workers=1, poll_s=5.0)  # type: ignore[arg-type]
    rounds: list[float] = []

    async def process_next() -> bool:
        rounds.append(time.monotonic())
        if len(rounds) == 1:
            await asyncio.sleep(0)  # the round's query found nothing; meanwhile an ingest commits:
            workers.wake()
        return False

    workers.process_next = process_next  # type: ignore[method-assign]
    loop = asyncio.create_task(workers.run())
    try:
        for _ in range(100):
            if len(rounds) >= 2:
                break
            await asyncio.sleep(0.01)
    finally:
        loop.cancel()
    assert len(rounds) >= 2 and rounds[1] - rounds[0] < 1.0, "the wake-up was lost until the next poll"
