"""Browser tests: Playwright (Python) driving Debian's Chromium against the whole stack.

Chromium comes from apt (`make browser-deps`, or this fixture as root); Playwright never downloads one.
Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import pytest_asyncio

from devtools.infra import NatsProcess, in_ci
from tests.browser.chromium import LAUNCH_ARGS, ensure_chromium
from tests.browser.stack import ROOT, full_stack

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = ensure_chromium()
    if path is None:
        message = "no /usr/bin/chromium and no way to install it (run `make browser-deps` as root)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser_nats_url():
    if os.environ.get("NATS_URL"):
        yield os.environ["NATS_URL"]
        return
    server = NatsProcess().start()
    yield server.url
    server.cleanup()


@pytest.fixture(scope="session")
def browser_schema(created_schemas):
    def make(prefix: str) -> str:
        name = f"br{prefix}_{uuid.uuid4().hex[:10]}"
        created_schemas.append(name)
        return name

    return make


@pytest_asyncio.fixture(scope="session")
async def stack(browser_nats_url, database_url, browser_schema):
    with tempfile.TemporaryDirectory(prefix="portal-browser-") as tmp:
        async with full_stack(browser_nats_url, database_url, browser_schema, Path(tmp)) as running_stack:
            yield running_stack


@pytest_asyncio.fixture(scope="session")
async def browser(chromium_path):
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS, headless=True)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture
async def context(browser, stack):
    ctx = await browser.new_context(
        base_url=stack.url, accept_downloads=True, locale="de-DE", viewport={"width": 1280, "height": 900}
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture
async def page(context):
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    assert not errors, f"JavaScript errors on the page: {errors}"


async def log_in(page, stack, tenant) -> None:
    await page.goto("/login")
    await page.fill("#email", tenant.email)
    await page.fill("#password", tenant.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{stack.url}/")


async def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


def needs(stack, *names: str) -> None:
    missing = [n for n in names if n not in stack.services]
    if missing:
        pytest.skip(f"services/{missing[0]}/app.py does not exist yet: nothing to test this against")
