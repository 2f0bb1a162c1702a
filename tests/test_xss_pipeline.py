"""XSS through the whole pipeline: payload mails imported, published, every page opened in Chromium.

The payloads of ``tests/data/xss`` go into real ``.eml`` files — HTML bodies, plain-text bodies,
subjects, display names and attachment file names — addressed to a building of ``rules/`` and
referencing one of its dossiers, so they route. ``dossiermail import`` stores them next to the
samples, ``dossiermail publish --out`` writes every audience's pages, and each page is served from
127.0.0.1 to Chromium: nothing may run, open a dialog, reach another host or navigate away.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Dialog, Request, Route

from tests.conftest import RULES, SAMPLES
from tests.xss_corpus import payloads

pytestmark = pytest.mark.slow

BUILDING = "les-mimosas"
BUILDING_ADDRESS = "mimosas@cabinet-azur.example.fr"
REFERENCE = "DDE-2026-014"
SENDER = "marc.durand@plomberie-durand.example.com"
# mimosas-dde-05 (the plumber's quote, filed in DDE-2026-014): the payload mails answer it.
PARENT_ID = "<55243589-a8dc-19be-d2a6-8cfdb60a9999@plomberie-durand.example.com>"
PER_MAIL = 12
LOCAL_HOST = "127.0.0.1"
SETTLE_MS = 150
FORBIDDEN_IN_PAGES = """() => {
  const found = [];
  const bad = 'script,iframe,frame,object,embed,applet,svg,math,base,template,noscript,'
    + 'meta[http-equiv],link:not([rel=stylesheet]),video,audio';
  for (const el of document.querySelectorAll(bad)) found.push(el.outerHTML.slice(0, 80));
  for (const el of document.querySelectorAll('*'))
    for (const attr of el.attributes)
      if (attr.name.toLowerCase().startsWith('on') || attr.name === 'srcdoc' || attr.name === 'formaction')
        found.push(attr.name + ' on ' + el.tagName);
  for (const a of document.querySelectorAll('a[href]'))
    if (/^\\s*(javascript|vbscript|data):/i.test(a.getAttribute('href'))) found.push('href ' + a.href);
  return found;
}"""


def _header_safe(payload: str) -> bool:
    return all(ch.isprintable() for ch in payload)


def payload_mail(number: int, body_payloads: list[str], header_payloads: list[str]) -> bytes:
    """One reply in the dossier carrying payloads in every place a reader sees."""
    subject, name, filename, other_file = (header_payloads * 4)[:4]
    marker = f"charge-utile-{number:03d}"
    message = EmailMessage()
    message["From"] = Address(display_name=name, addr_spec=SENDER)
    message["To"] = Address(display_name="Résidence Les Mimosas", addr_spec=BUILDING_ADDRESS)
    message["Subject"] = f"RE: [{REFERENCE}] {subject}"
    message["Message-ID"] = f"<xss-{number:03d}@plomberie-durand.example.com>"
    message["In-Reply-To"] = PARENT_ID
    message["References"] = PARENT_ID
    message["Date"] = format_datetime(datetime(2026, 1, 20, 9, 0, tzinfo=UTC) + timedelta(minutes=number))
    text = "\n\n".join([marker, *body_payloads])
    html = "".join(f"<div>{payload}</div>" for payload in body_payloads)
    message.set_content(text)
    if number % 3:  # one mail in three is plain text only
        message.add_alternative(f"<p>{marker}</p>{html}", subtype="html")
    for index, file_name in enumerate((filename, other_file)):
        message.add_attachment(
            b"%PDF-1.4\n%%EOF\n", maintype="application", subtype="pdf", filename=f"{file_name}-{index}.pdf"
        )
    return message.as_bytes()


def write_mails(folder: Path) -> int:
    """The corpus spread over mails; returns how many were written."""
    corpus = payloads()
    headers = [payload for payload in corpus if _header_safe(payload)]
    folder.mkdir()
    count = 0
    for count, start in enumerate(range(0, len(corpus), PER_MAIL), start=1):
        chosen = [headers[(4 * count + offset) % len(headers)] for offset in range(4)]
        raw = payload_mail(count, corpus[start : start + PER_MAIL], chosen)
        (folder / f"xss-{count:03d}.eml").write_bytes(raw)
    return count


def dossiermail(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dossiermail", *args], capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"dossiermail {args[0]} failed: {done.stderr[-2000:]}"
    return done.stdout


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return


@pytest.fixture
def published(tmp_path: Path) -> Iterator[tuple[Path, str, int]]:
    """Samples and payload mails imported and published, the site served on 127.0.0.1."""
    database = f"sqlite:///{tmp_path}/store.db"
    mails = write_mails(tmp_path / "mails")
    dossiermail("import", str(SAMPLES), "--rules", str(RULES), "--db", database, "-q")
    dossiermail("import", str(tmp_path / "mails"), "--rules", str(RULES), "--db", database, "-q")
    site = tmp_path / "site"
    dossiermail("publish", "--out", str(site), "--rules", str(RULES), "--db", database)
    server = ThreadingHTTPServer((LOCAL_HOST, 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://{LOCAL_HOST}:{server.server_address[1]}", mails
    finally:
        server.shutdown()
        server.server_close()


class Visitor:
    """One Chromium tab that records what a page must not do: dialogs, remote requests."""

    def __init__(self, browser: Browser) -> None:
        self.page = browser.new_page()
        self.problems: list[str] = []
        self.page.on("dialog", self._on_dialog)
        self.page.on("request", self._on_request)
        self.page.route("**/*", self._on_route)

    def _on_dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"dialog {dialog.message}")
        dialog.dismiss()

    def _on_request(self, request: Request) -> None:
        parsed = urlsplit(request.url)
        if parsed.scheme not in {"data", "about"} and parsed.hostname != LOCAL_HOST:
            self.problems.append(f"request {request.url}")

    def _on_route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            route.abort()

    def visit(self, url: str) -> list[str]:
        """What is wrong with one page: execution, dialogs, requests, navigation, markup left."""
        self.problems = []
        self.page.goto(url, wait_until="load")
        self.page.wait_for_timeout(SETTLE_MS)
        if self.page.url != url:
            self.problems.append(f"navigated to {self.page.url}")
        if self.page.evaluate("() => typeof window.__xss") != "undefined":
            self.problems.append("window.__xss is set")
        return self.problems + list(self.page.evaluate(FORBIDDEN_IN_PAGES))


def visit_all(browser: Browser, site: Path, base: str, pages: list[Path]) -> list[str]:
    """Every problem found on ``pages`` (files under ``site``, served at ``base``), page by page."""
    failures: list[str] = []
    visitor = Visitor(browser)
    try:
        for page in pages:
            relative = page.relative_to(site).as_posix()
            failures += [f"{relative}: {problem}" for problem in visitor.visit(f"{base}/{relative}")]
    finally:
        visitor.page.close()
    return failures


def test_published_payloads_run_nowhere(chromium: Browser, published: tuple[Path, str, int]) -> None:
    site, base, mails = published
    pages = sorted(site.rglob("*.html"))
    dossier_pages = [page for page in pages if f"/{BUILDING}/syndic/dossiers/" in page.as_posix()]
    shown = "".join(page.read_text(encoding="utf-8") for page in dossier_pages)
    assert all(f"charge-utile-{number:03d}" in shown for number in range(1, mails + 1))
    assert len(pages) > 10
    assert visit_all(chromium, site, base, pages) == []
