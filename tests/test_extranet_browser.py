"""The extranet in Debian's Chromium against a real uvicorn server on 127.0.0.1.

A co-owner opens a signed link, lands on the building page, opens a dossier, goes to its second page,
downloads an attachment and searches; the page never errs in the console, never violates the CSP and
never asks any host but the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect

from dossiermail.extranet.grants import link_for
from tests.test_extranet import HOME, SECRET, Extranet, new_extranet

# Recorded before any page script can run; the page itself has none (CSP forbids it).
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    (event) => window.__csp.push(event.violatedDirective + ' ' + event.blockedURI));
"""


@dataclass
class Watch:
    """Everything a page did that a test must check afterwards."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in {"error", "warning"}:
            self.console_errors.append(f"{message.type}: {message.text}")


@pytest.fixture(scope="module")
def extranet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Extranet]:
    yield from new_extranet(tmp_path_factory.mktemp("browser"))


def watched_page(browser: Browser, tmp_path: Path) -> tuple[Page, Watch]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = Watch()
    page.add_init_script(CSP_PROBE)
    page.on("request", watch.on_request)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
    page.on("response", lambda r: watch.failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return page, watch


def assert_clean(page: Page, watch: Watch, base: str) -> None:
    server = urlsplit(base).netloc
    assert watch.requests, "the page made no request at all"
    assert {urlsplit(url).netloc for url in watch.requests} == {server}, watch.requests
    assert watch.console_errors == [], watch.failures
    assert watch.page_errors == []
    assert page.evaluate("window.__csp") == []
    assert page.evaluate("window.__xss") is None


def test_a_co_owner_browses_downloads_and_searches(
    chromium: Browser, extranet: Extranet, tmp_path: Path
) -> None:
    grant = extranet.grants[HOME, "lot-12"]
    page, watch = watched_page(chromium, tmp_path)
    try:
        page.goto(f"{extranet.base}/acces/{link_for(grant, SECRET)}")
        expect(page).to_have_url(f"{extranet.base}/{HOME}/")
        expect(page.locator("h1")).to_have_text("Résidence Les Mimosas")
        assert page.evaluate("getComputedStyle(document.body).fontFamily") != "", "style.css applies"
        expect(page.get_by_role("link", name=re.compile("INT-2026-009"))).to_have_count(0)

        page.get_by_role("link", name=re.compile("DDE-2026-014")).click()
        expect(page).to_have_url(f"{extranet.base}/{HOME}/dossiers/DDE-2026-014.html")
        photo = page.get_by_role("img", name="Photo de la fuite")
        expect(photo).to_be_visible()
        assert photo.evaluate("(img) => img.complete && img.naturalWidth") == 4

        page.get_by_role("link", name="Messages suivants").click()
        expect(page).to_have_url(f"{extranet.base}/{HOME}/dossiers/DDE-2026-014-2.html")
        expect(page.locator("#message-25")).to_be_visible()

        rel = extranet.site.piece(HOME, "lot-12", "rapport-intervention.docx")
        with page.expect_download() as download_info:
            page.get_by_role("link", name="rapport-intervention.docx").click()
        download = download_info.value
        assert download.suggested_filename == "rapport-intervention.docx"
        assert Path(download.path()).read_bytes() == extranet.file(HOME, "lot-12", rel)

        with page.expect_download() as trap_info:
            page.get_by_role("link", name="piege.html").click()
        assert trap_info.value.suggested_filename == "piege.html"
        expect(page).to_have_url(f"{extranet.base}/{HOME}/dossiers/DDE-2026-014-2.html")

        page.get_by_role("link", name="Résidence Les Mimosas").click()
        page.get_by_role("searchbox").fill("Dégât")
        page.get_by_role("button", name="Rechercher").click()
        expect(page.get_by_role("heading", level=2)).to_have_text("25 résultats pour « Dégât »")
        expect(page.locator("li.search-hit")).to_have_count(20)
        page.get_by_role("link", name="Page suivante").click()
        expect(page.locator("li.search-hit")).to_have_count(5)
        expect(page.get_by_text("Page 2 sur 2")).to_be_visible()
        page.locator("li.search-hit a").first.click()
        expect(page).to_have_url(re.compile(rf"/{HOME}/dossiers/DDE-2026-014-2\.html#message-2\d$"))
        assert_clean(page, watch, extranet.base)
    finally:
        page.context.close()


def test_a_bad_link_shows_the_french_404_cleanly(
    chromium: Browser, extranet: Extranet, tmp_path: Path
) -> None:
    page, watch = watched_page(chromium, tmp_path)
    try:
        response = page.goto(f"{extranet.base}/acces/lien-invente")
        assert response is not None and response.status == 404
        expect(page.locator("h1")).to_have_text("Lien invalide ou expiré")
        watch.console_errors = [e for e in watch.console_errors if "404" not in e]
        assert_clean(page, watch, extranet.base)
        page.goto(f"{extranet.base}/{HOME}/")
        expect(page.locator("h1")).to_have_text("Lien invalide ou expiré")
    finally:
        page.context.close()
