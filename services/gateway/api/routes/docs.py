"""`/docs`: the Swagger UI page, with a Content-Security-Policy that allows exactly its own scripts.

FastAPI's page loads Swagger UI from jsDelivr and starts it with an inline script; instead of
allowing inline scripts in general, the policy names that one script by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
CDN = "https://cdn.jsdelivr.net"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    body = bytes(get_swagger_ui_html(openapi_url=request.app.openapi_url, title=f"{request.app.title} – docs").body)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(body.decode())
    )
    policy = (
        f"default-src 'none'; script-src {CDN} {hashes}; style-src {CDN} 'unsafe-inline'; "
        "img-src 'self' data: https://fastapi.tiangolo.com; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    return HTMLResponse(body, headers={"Content-Security-Policy": policy, "Cache-Control": "no-store"})
