"""The operator console `/ops`: server-rendered pages (Jinja2, German and English) over the admin
API's own operations, behind a login with the admin token (`sessions.py`). Not in the OpenAPI schema."""

from fastapi import APIRouter

from services.gateway.ops import actions, auth, tenants

router = APIRouter(include_in_schema=False)
for _module in (auth, tenants, actions):
    router.include_router(_module.router)

__all__ = ["router"]
