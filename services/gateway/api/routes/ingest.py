"""Usage and reservations over HTTP, for platforms that do not speak NATS (API.md; a platform key only).

Events become `usage.recorded.v1` records on JetStream, reservations the same `billing.*.v1`
requests a platform sends on NATS: the same answers, the same idempotency by ids, no second path.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from contracts.billing.v1 import Release, ReleaseReply, ReserveReply, Settle, SettleReply
from services.gateway.api import cloudevents
from services.gateway.api.body import capped_body
from services.gateway.api.deps import CurrentPlatform, state
from services.gateway.api.errors import COMMON_RESPONSES, ApiError
from services.gateway.api.ingest_schemas import EventsAccepted, ReservationId, ReserveIn, SettleIn, events_request_body
from services.gateway.api.rpc import ask_as_on_nats
from services.gateway.usage_publisher import UsageUnavailable

router = APIRouter(prefix="/ingest/v1", tags=["ingest"], responses=COMMON_RESPONSES)


@router.post(
    "/events", status_code=202, response_model=EventsAccepted, openapi_extra={"requestBody": events_request_body()}
)
async def ingest_events(request: Request, _platform: CurrentPlatform) -> EventsAccepted:
    """Usage as CloudEvents: answered once JetStream holds every event; any invalid one refuses them all."""
    body = await capped_body(request, limit=cloudevents.MAX_BODY_BYTES)
    try:
        records = cloudevents.usage_records(body, content_type=request.headers.get("content-type", ""))
        await state(request).usage_publisher.publish(records)
    except cloudevents.UnsupportedMediaType as exc:
        raise ApiError(415, "unsupported_media_type", str(exc)) from None
    except cloudevents.InvalidEvents as exc:
        raise ApiError(400, "validation_error", str(exc)) from None
    except UsageUnavailable:
        raise ApiError(
            503, "unavailable", "usage could not be stored now; send the same events again", {"Retry-After": "1"}
        ) from None
    return EventsAccepted(accepted=len(records))


@router.post("/reservations", response_model=ReserveReply)
async def reserve(body: ReserveIn, request: Request, _platform: CurrentPlatform) -> ReserveReply:
    """`billing.reserve.v1` over HTTP: `ok: false` when the available balance is short."""
    return await ask_as_on_nats(request, body)


@router.post("/reservations/{reservation_id}/settle", response_model=SettleReply)
async def settle(
    reservation_id: ReservationId, body: SettleIn, request: Request, _platform: CurrentPlatform
) -> SettleReply:
    """`billing.settle.v1` over HTTP: debits the usage, releases the rest of the hold."""
    return await ask_as_on_nats(request, Settle(reservation_id=reservation_id, usage=body.usage))


@router.post("/reservations/{reservation_id}/release", response_model=ReleaseReply)
async def release(reservation_id: ReservationId, request: Request, _platform: CurrentPlatform) -> ReleaseReply:
    """`billing.release.v1` over HTTP."""
    return await ask_as_on_nats(request, Release(reservation_id=reservation_id))
