"""Every XSS payload, rendered the way the extranet shows mail, runs nothing in a real Chromium.

Each payload goes through ``html_body`` (body and quoted history; redacted run by run by the real
engine), ``text_body`` and, as a subject and a display name, through jinja2 autoescaping; the pages
carry the extranet's stylesheet but NO Content-Security-Policy (the worst case). They are served
from 127.0.0.1 and loaded in Chromium; any execution (``window.__xss``), dialog, request to another
host, navigation away, or dangerous element/attribute left in the DOM fails the test. A control
page with the raw payloads proves the harness sees execution, dialogs and remote requests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jinja2 import Environment
from markupsafe import Markup
from playwright.sync_api import Browser, Dialog, Page, Request, Route

from dossiermail.mailhtml import html_body, text_body
from dossiermail.redact import redactor_for
from dossiermail.rules.loader import load_rules
from tests.conftest import RULES
from tests.xss_corpus import payloads

BATCH = 120
SETTLE_MS = 400
LOCAL_HOSTS = frozenset({"127.0.0.1"})
PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/x8AAwMCAO+ip1sAAAAASUVORK5CYII="
)

PAGE = Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Dossier — essai XSS</title>
<link rel="stylesheet" href="style.css"></head>
<body><main id="contenu" class="wrap">
{% for item in items %}
<article class="message" data-payload="{{ item.number }}">
  <header class="message-header">
    <h3>{{ item.payload }}</h3>
    <p class="message-meta"><span class="sender" title="{{ item.payload }}">{{ item.payload }}</span></p>
  </header>
  <div class="message-html">{{ item.html }}</div>
  <details class="quoted" open><summary>Message précédent</summary>{{ item.quoted }}</details>
  <div class="message-text">{{ item.text }}</div>
  <ul class="attachments">
    <li><a href="pj/{{ item.number }}" download="{{ item.payload }}">{{ item.payload }}</a></li>
  </ul>
</article>
{% endfor %}
</main></body></html>
"""
)

# What must never be left in a sanitized body: returned as a list of "problem: detail" strings.
DOM_AUDIT = """() => {
  const problems = [];
  const bad = 'script,iframe,frame,frameset,object,embed,applet,form,input,button,select,textarea,'
    + 'svg,math,style,link,meta,base,template,noscript,portal,video,audio,source,marquee,keygen,isindex';
  for (const part of document.querySelectorAll('.message-html, .quoted, .message-text')) {
    for (const el of part.querySelectorAll(bad)) problems.push('element: ' + el.outerHTML.slice(0, 80));
    for (const el of part.querySelectorAll('*')) {
      for (const attr of el.attributes) {
        const name = attr.name.toLowerCase();
        if (name.startsWith('on') || name === 'style' || name === 'id' || name === 'name'
            || name === 'srcdoc' || name === 'formaction' || name === 'action' || name === 'background')
          problems.push('attribute: ' + name + ' on ' + el.tagName);
      }
    }
    for (const a of part.querySelectorAll('a')) {
      const href = a.getAttribute('href');
      if (href === null) { problems.push('link without href kept'); continue; }
      if (!/^(https?:|mailto:)/i.test(href)) problems.push('href: ' + href.slice(0, 60));
      if (a.target !== '_blank' || a.rel !== 'noopener noreferrer') problems.push('link target/rel: ' + href);
    }
    for (const img of part.querySelectorAll('img')) {
      const src = img.getAttribute('src') || '';
      if (!/^data:image\\/(png|jpeg|gif|webp)[;,]/i.test(src)) problems.push('img src: ' + src.slice(0, 60));
    }
  }
  return problems;
}"""


@dataclass
class Watch:
    """What a page did that it must not: dialogs, remote requests, navigations away."""

    dialogs: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A folder served on 127.0.0.1 (an ephemeral port), with the extranet's stylesheet in it."""
    root = tmp_path_factory.mktemp("xss-site")
    css = files("dossiermail.publish").joinpath("static", "style.css").read_text("utf-8")
    (root / "style.css").write_text(css, encoding="utf-8")
    handler = partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return


def _cid_url(cid: str) -> str:
    return PIXEL


REDACTOR = redactor_for(load_rules(RULES).redaction)


def _item(number: int, payload: str) -> dict[str, Any]:
    body = html_body(payload, cid_url=_cid_url, redact=REDACTOR.text, redact_runs=REDACTOR.runs)
    text = text_body(payload, redact=REDACTOR.text)
    return {
        "number": number,
        "payload": payload,
        "html": Markup(body.html),  # the output under test
        "quoted": Markup(body.quoted_html),
        "text": Markup(text.html),
    }


def _open(browser: Browser, url: str) -> tuple[Page, Watch]:
    page = browser.new_page()
    watch = Watch()

    def on_dialog(dialog: Dialog) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_request(request: Request) -> None:
        parsed = urlsplit(request.url)
        if parsed.scheme not in {"data", "blob", "about"} and parsed.hostname not in LOCAL_HOSTS:
            watch.remote_requests.append(request.url)

    def on_route(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            route.abort()

    def on_navigation(frame: Any) -> None:
        if frame == page.main_frame and frame.url != url:
            watch.navigations.append(frame.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    page.on("framenavigated", on_navigation)
    page.route("**/*", on_route)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(SETTLE_MS)
    return page, watch


def _batches(items: list[str]) -> Iterator[tuple[int, list[str]]]:
    for start in range(0, len(items), BATCH):
        yield start, items[start : start + BATCH]


def test_the_corpus_has_enough_payloads() -> None:
    corpus = payloads()
    assert len(corpus) >= 300
    assert sum("__xss" in payload for payload in corpus) >= 300


def test_no_payload_runs_in_chromium(chromium: Browser, site: tuple[Path, str]) -> None:
    root, base = site
    failures: list[str] = []
    for start, batch in _batches(payloads()):
        name = f"batch-{start // BATCH}.html"
        items = [_item(start + offset, payload) for offset, payload in enumerate(batch)]
        (root / name).write_text(PAGE.render(items=items), encoding="utf-8")
        page, watch = _open(chromium, f"{base}/{name}")
        try:
            page.mouse.move(10, 10)
            page.mouse.move(600, 800, steps=5)
            state = page.evaluate("() => [typeof window.__xss, document.querySelectorAll('article').length]")
            problems = page.evaluate(DOM_AUDIT)
        finally:
            page.close()
        if state[1] != len(batch):
            failures.append(f"{name}: {state[1]} of {len(batch)} articles left, a payload broke the page")
        if state[0] != "undefined":
            failures.append(f"{name}: window.__xss is {state[0]}")
        failures += [f"{name}: dialog {text}" for text in watch.dialogs]
        failures += [f"{name}: request {url}" for url in watch.remote_requests]
        failures += [f"{name}: navigated to {url}" for url in watch.navigations]
        failures += [f"{name}: {problem}" for problem in problems]
    assert failures == []


def test_the_harness_sees_what_raw_payloads_do(chromium: Browser, site: tuple[Path, str]) -> None:
    root, base = site
    raw = (
        "<!doctype html><meta charset=utf-8><p>contrôle</p>"
        '<img src="https://evil.example/pixel.gif">'
        "<img src=x onerror=\"window.__xss=1\"><script>alert('xss')</script>"
    )
    (root / "control.html").write_text(raw, encoding="utf-8")
    page, watch = _open(chromium, f"{base}/control.html")
    try:
        assert page.evaluate("() => window.__xss") == 1
    finally:
        page.close()
    assert watch.dialogs == ["alert: xss"]
    assert watch.remote_requests == ["https://evil.example/pixel.gif"]
