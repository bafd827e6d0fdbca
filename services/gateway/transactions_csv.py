"""A tenant's transactions as CSV (GET /v1/transactions.csv and the portal's export): the fields of
/v1/transactions in the format of runtime.csv_format, newest first, read from billing page by page
while the response streams — never the whole history in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, datetime

from fastapi.responses import StreamingResponse

from contracts.billing.v1 import ListTransactions, TransactionPage
from runtime import csv_format
from runtime.calendar import Calendar

PAGE = 500
MAX_ROWS = 50_000  # a year of busy usage; beyond it, narrow the dates
AskPage = Callable[[ListTransactions], Awaitable[TransactionPage]]


def query(
    tenant_id: str,
    *,
    since: datetime | None,
    until: datetime | None,
    kind: str | None = None,
    cursor: str | None = None,
) -> ListTransactions:
    return ListTransactions(tenant_id=tenant_id, limit=PAGE, cursor=cursor, kind=kind, since=since, until=until)


def days(calendar: Calendar, first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Both days inclusive, as local calendar days."""
    return (calendar.day_start(first) if first else None, calendar.day_bounds(last)[1] if last else None)


async def rows(
    ask_page: AskPage, first: ListTransactions, page: TransactionPage, *, locale: str, calendar: Calendar
) -> AsyncIterator[str]:
    """`page` is the first page, asked before the response starts (so billing being away is a 503,
    not a truncated file)."""
    yield csv_format.BOM + csv_format.line(csv_format.TRANSACTION_FIELDS)
    sent = 0
    while True:
        for tx in page.items:
            yield csv_format.line(
                [
                    tx.id,
                    tx.kind,
                    csv_format.euros(tx.amount_cents, locale),
                    csv_format.euros(tx.balance_after_cents, locale),
                    csv_format.text(tx.description),
                    csv_format.text(tx.reference),
                    tx.created_at.astimezone(calendar.zone).isoformat(timespec="seconds"),
                ]
            )
        sent += len(page.items)
        if not page.next_cursor or sent >= MAX_ROWS:
            return
        page = await ask_page(first.model_copy(update={"cursor": page.next_cursor}))


def response(body: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
