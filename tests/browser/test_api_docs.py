"""/docs (Swagger UI) and /redoc (ReDoc) in Chromium with every request to another host blocked: both
must draw the whole API from what the app serves (this machine reaches no CDN either)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import Console, LiveServer, new_page
from .test_pages import DESKTOP, PHONE

pytestmark = pytest.mark.browser

WIDTHS = [pytest.param(DESKTOP, id="1280"), pytest.param(PHONE, id="375")]


def _operations(server: LiveServer) -> list[dict[str, Any]]:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    return [op for ops in spec["paths"].values() for op in ops.values()]


def _loaded(page: Page) -> list[str]:
    """Every URL the page requested (the blocked ones are also the console's errors)."""
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    return urls


@pytest.mark.parametrize("size", WIDTHS)
def test_swagger_ui_offline(
    browser: Browser, live_server: LiveServer, artifacts: Path, console: Console, size: dict[str, Any]
) -> None:
    page = new_page(browser, console, **size)
    urls = _loaded(page)
    page.goto(live_server.url + "/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= len(_operations(live_server))  # one per operation and tag
    expect(page.get_by_text("/v1/interviews/{interview_id}/answers").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / f"docs-swagger-{size['viewport']['width']}.png")
    assert any(u.endswith("/static-offline-docs/swagger-ui-bundle.js") for u in urls), urls
    assert console.errors == []


@pytest.mark.parametrize("size", WIDTHS)
def test_redoc_offline(
    browser: Browser, live_server: LiveServer, artifacts: Path, console: Console, size: dict[str, Any]
) -> None:
    page = new_page(browser, console, **size)
    urls = _loaded(page)
    page.goto(live_server.url + "/redoc")
    # ReDoc draws each operation's summary as a heading in the main column.
    create = next(op for op in _operations(live_server) if op["operationId"].startswith("create_interview"))
    expect(page.locator("h2").filter(has_text=create["summary"]).first).to_be_visible(timeout=60_000)
    expect(page.locator("h1").first).to_contain_text("mockinterview")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=artifacts / f"docs-redoc-{size['viewport']['width']}.png")
    # The bundle is the package's, from the app; its menu's logo is the app's copy, loaded fine.
    assert any(u.endswith("/redoc-assets/redoc.standalone.js") for u in urls), urls
    logo = page.locator("img[alt='redocly logo']")
    expect(logo).to_have_js_property("complete", True)
    assert logo.evaluate("img => img.naturalWidth") > 0
    assert console.errors == []
