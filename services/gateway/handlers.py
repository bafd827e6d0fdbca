"""The gateway's subscribers: parse, call one use case, answer."""

from __future__ import annotations

from contracts.gateway.v1 import GetPasswordResetLink
from runtime.handlers import rpc
from runtime.messaging import ServiceError
from services.gateway import keys, password_reset


def register(broker, *, db, settings) -> None:
    @rpc(broker, GetPasswordResetLink, queue="gateway")
    async def on_get_password_reset_link(req: GetPasswordResetLink):
        async with db.sessions() as session:
            link = await password_reset.link_for(
                session,
                reset_id=req.reset_id,
                base_url=settings.portal_base_url,
                key=keys.derived_key(settings, password_reset.KEY_PURPOSE),
            )
        if link is None:
            raise ServiceError("not_found", "no usable password reset with this id")
        return link
