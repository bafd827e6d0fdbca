"""Driving the operator console (`/ops`) over HTTP as a browser would: forms read from its pages."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from urllib.parse import unquote

import httpx

ADMIN_TOKEN = "test-admin-token"  # tests.support.stack.gateway's
OPS_COOKIE = "pp_ops_session"


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"id": attributes.get("id", ""), "action": attributes.get("action", ""), "fields": {}})
        elif tag == "input" and self.forms and attributes.get("name"):
            self.forms[-1]["fields"][attributes["name"]] = attributes.get("value", "")


def forms_of(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form(html: str, *, id: str | None = None, action: str | None = None) -> dict:
    """The form with this id, or whose action ends with `action`: {action, fields}."""
    for found in forms_of(html):
        if (id and found["id"] == id) or (action and found["action"].endswith(action)):
            return found
    raise AssertionError(f"no form {id or action} on the page")


def console(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=30, follow_redirects=False)


async def log_in(client: httpx.AsyncClient, token: str = ADMIN_TOKEN) -> httpx.Response:
    page = await client.get("/ops/login")
    assert page.status_code == 200, page.text
    fields = form(page.text, action="/ops/login")["fields"]
    return await client.post("/ops/login", data={**fields, "token": token})


async def submit(
    client: httpx.AsyncClient, page_html: str, *, id: str | None = None, action: str | None = None, **values
):
    """Post a form of a page with some fields filled in, as a browser on the same origin."""
    found = form(page_html, id=id, action=action)
    return await client.post(found["action"], data={**found["fields"], **values})


async def confirmed(client: httpx.AsyncClient, tenant_page: str, form_id: str, **values) -> tuple[str, dict]:
    """Fill a tenant page's action form, pass its confirmation page; answer that page and its form."""
    confirmation = await submit(client, tenant_page, id=form_id, **values)
    assert confirmation.status_code == 200, confirmation.text
    return confirmation.text, form(confirmation.text, id="confirm")


async def flash_after(client: httpx.AsyncClient, response: httpx.Response) -> str:
    """Follow the 303 after an action and answer the flash message shown on the next page."""
    assert response.status_code == 303, response.text
    page = await client.get(response.headers["location"])
    start = page.text.find('data-testid="flash">')
    assert start >= 0, page.text
    return html.unescape(page.text[start + len('data-testid="flash">') : page.text.find("</div>", start)])


def flash_key(response: httpx.Response) -> str:
    """Which message a 303 leaves for the next page (its text key), read from its own Set-Cookie."""
    assert response.status_code == 303, response.text
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("pp_ops_flash=")]
    return unquote(cookie.split(";", 1)[0].split("=", 1)[1]).split("|")[1]
