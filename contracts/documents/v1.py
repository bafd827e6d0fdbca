"""Documents: issued invoices, credit notes and statements, and the gateway's queries."""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import Event, Reply, Request, View
from contracts.subjects import DOCUMENTS

DocumentKind = Literal["invoice", "credit_note", "statement"]


class DocumentIssued(Event):
    subject: ClassVar[str] = "documents.document.issued.v1"
    stream: ClassVar[str | None] = DOCUMENTS.name
    durables: ClassVar = ("payments-document-issued",)
    document_id: str
    kind: DocumentKind
    number: str
    total_cents: int
    topup_id: str | None = None
    issued_at: datetime


class DocumentView(View):
    id: str
    kind: DocumentKind
    number: str | None
    issued_at: datetime | None
    total_cents: int
    status: Literal["pending", "issued"] = "issued"


class DocumentsReply(Reply):
    items: list[DocumentView] = []
    item: DocumentView | None = None
    error: dict | None = None


class ListDocuments(Request):
    subject: ClassVar[str] = "rpc.documents.list.v1"
    reply_model: ClassVar = DocumentsReply
    tenant_id: str
    kind: DocumentKind | None = None
    limit: int = Field(default=100, ge=1, le=500)


class FileReply(Reply):
    """The file's bytes (base64) or an error (`not_found`, `conflict` while still rendering)."""

    content_b64: str | None = None
    media_type: str | None = None
    filename: str | None = None
    error: dict | None = None


class GetDocumentFile(Request):
    subject: ClassVar[str] = "rpc.documents.file.v1"
    callers: ClassVar = ("gateway", "notify")  # notify attaches the PDF to its email
    reply_model: ClassVar = FileReply
    tenant_id: str
    document_id: str
    format: Literal["pdf", "xml", "csv"]  # csv: statements only


class RequestStatement(Request):
    subject: ClassVar[str] = "rpc.documents.statement.request.v1"
    reply_model: ClassVar = DocumentsReply
    tenant_id: str
    month: str = Field(pattern=r"^\d{4}-\d{2}$")


class DocumentsReconciliation(Reply):
    """Sources that had no document: `issued` now (when asked to heal) or only `missing`."""

    missing_invoices: list[str] = []  # top-up ids
    missing_credit_notes: list[str] = []  # refund ids
    issued: list[str] = []  # document numbers issued by this call


class CreditedTopup(View):
    """What an invoice is made from (the fields of billing's TopupCredited)."""

    tenant_id: str
    topup_id: str
    amount_cents: int
    bonus_cents: int
    payment_reference: str
    paid_at: datetime
    transaction_id: str
    card_last4: str | None = None


class RecordedRefund(View):
    """What a credit note is made from (the fields of billing's RefundRecorded)."""

    tenant_id: str
    refund_id: str
    topup_id: str
    amount_cents: int
    bonus_reversed_cents: int
    refunded_at: datetime
    transaction_id: str


class ReconcileDocuments(Request):
    """Every credited top-up has an invoice and every recorded refund a credit note: check, and issue
    what is missing from these facts (as billing's events would have)."""

    subject: ClassVar[str] = "rpc.documents.reconcile.v1"
    reply_model: ClassVar = DocumentsReconciliation
    callers: ClassVar = ("payments",)
    credits: list[CreditedTopup] = Field(default_factory=list, max_length=200)
    refunds: list[RecordedRefund] = Field(default_factory=list, max_length=200)
    heal: bool = True


class ExportDatev(Request):
    """The month's invoices and credit notes as a DATEV booking batch (EXTF, category 21), or the debtor
    master data of their tenants (category 16): Windows-1252 text in `content_b64`."""

    subject: ClassVar[str] = "rpc.documents.datev.v1"
    reply_model: ClassVar = FileReply
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    kind: Literal["bookings", "debtors"] = "bookings"
