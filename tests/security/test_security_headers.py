"""Every response carries `X-Content-Type-Options: nosniff` and a Content-Security-Policy.

Before the fix only the portal's pages had them: `/docs`, the JSON API, and documents served as
PDF or XML (which a browser could be talked into rendering as HTML on our origin) had neither.
"""

import base64
import json

import pytest

from tests.support.stack import create_tenant


def _sniff_proof(response) -> None:
    assert response.headers.get("x-content-type-options") == "nosniff", response.url
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, (response.url, policy)


@pytest.fixture
def documents_stand_in():
    async def start(nc):
        async def answer(msg):
            fmt = json.loads(msg.data)["format"]
            content, media = (
                (b"%PDF-1.7 ...", "application/pdf")
                if fmt == "pdf"
                else (
                    b"<Invoice><script xmlns='http://www.w3.org/1999/xhtml'>alert(1)</script></Invoice>",
                    "application/xml",
                )
            )
            await msg.respond(
                json.dumps(
                    {"content_b64": base64.b64encode(content).decode(), "media_type": media, "filename": f"RE-1.{fmt}"}
                ).encode()
            )

        return await nc.subscribe("rpc.documents.file.v1", cb=answer)

    return start


async def test_every_kind_of_response_is_sniff_proof_and_has_a_policy(stack, documents_stand_in):
    async with stack() as s:
        await documents_stand_in(s.nc)
        _, auth = await create_tenant(s.http)
        docs = await s.http.get("/docs")
        assert docs.status_code == 200
        _sniff_proof(docs)
        assert "script-src" in docs.headers["content-security-policy"]
        for path, headers in (
            ("/openapi.json", {}),
            ("/healthz", {}),
            ("/v1/balance", auth),
            ("/login", {}),
            ("/static/portal.js", {}),
            ("/no-such-page", {}),
            ("/v1/balance", {}),
        ):
            _sniff_proof(await s.http.get(path, headers=headers))
        pdf = await s.http.get("/v1/documents/doc_1/pdf", headers=auth)
        assert pdf.headers["content-type"] == "application/pdf"
        _sniff_proof(pdf)
        xml = await s.http.get("/v1/documents/doc_1/xml", headers=auth)
        _sniff_proof(xml)
        assert "sandbox" in xml.headers["content-security-policy"]
        assert xml.headers["content-disposition"].startswith("attachment")
