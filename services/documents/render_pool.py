"""Async adapters around the pure rendering library.

`Renderer` renders in a worker thread: the library serialises renders within one process (one
shared font configuration), so a thread keeps the event loop free but renders one at a time.
`ProcessRenderer` renders in a pool of worker processes (each warmed up once), so the documents
of one batch are rendered in parallel on all cores while the series' counter is locked.
Tests replace either through `app.build(renderer=...)` (e.g. one that fails once).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from services.documents.rendering import (
    CreditNoteData,
    InvoiceData,
    RenderedDocument,
    StatementData,
    render_credit_note,
    render_invoice,
    render_statement,
    warm_up,
)

DocumentData = InvoiceData | CreditNoteData | StatementData


def render_any(data: DocumentData) -> RenderedDocument:
    if isinstance(data, InvoiceData):
        return render_invoice(data)
    if isinstance(data, CreditNoteData):
        return render_credit_note(data)
    return render_statement(data)


class Renderer:
    async def warm_up(self) -> None:
        await asyncio.to_thread(warm_up)

    async def render(self, data: DocumentData) -> RenderedDocument:
        return await asyncio.to_thread(self.render_sync, data)

    def render_sync(self, data: DocumentData) -> RenderedDocument:
        return render_any(data)

    def close(self) -> None:
        return None


class ProcessRenderer(Renderer):
    def __init__(self, processes: int) -> None:
        self.processes = processes
        self.pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"), initializer=warm_up)

    async def warm_up(self) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self.pool, warm_up) for _ in range(self.processes)))

    async def render(self, data: DocumentData) -> RenderedDocument:
        return await asyncio.get_running_loop().run_in_executor(self.pool, render_any, data)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def make_renderer(processes: int) -> Renderer:
    """`DOCUMENTS_RENDER_PROCESSES`: 0 renders in a thread of the service's own process."""
    return ProcessRenderer(processes) if processes > 0 else Renderer()
