"""Shared pieces of the extranet server tests: a published site tree, a real uvicorn server, a client.

The tree has the shape ``dossiermail publish`` writes: three buildings, five audiences each, dossiers
visible to some audiences only, paginated dossier pages, attachments of every kind, and each audience's
``search.jsonl``. Every file names its building and audience, so a test can tell which audience's copy
it was given. The server runs in a thread on a free port of 127.0.0.1 and stops through
``should_exit``. The tests at the end check the tree itself is what the server tests assume.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import uvicorn
from sqlalchemy.orm import Session
from starlette.types import ASGIApp

from dossiermail.extranet.grants import Grant, NewGrant, create_grant
from dossiermail.store.models import BuildingRow

ROOT = Path(__file__).resolve().parents[1]
STYLESHEET = ROOT / "dossiermail" / "publish" / "static" / "style.css"
BUILDINGS = {
    "les-mimosas": "Résidence Les Mimosas",
    "le-belvedere": "Le Belvédère",
    "villa-carabacel": "Villa Carabacel",
}
AUDIENCES = ("syndic", "conseil_syndical", "coproprietaires", "lot:12", "lot:7")
EVERYONE = frozenset({"syndic", "conseil_syndical", "coproprietaires"})
FIRST_DATE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MESSAGES_PER_PAGE = 20


@dataclass(frozen=True)
class SiteDossier:
    """A dossier of every building, published for some audiences (slugs) only."""

    reference: str
    title: str
    audiences: frozenset[str]
    keyword: str
    messages: int = 2
    pieces: tuple[str, ...] = ("devis.pdf",)


DOSSIERS = (
    SiteDossier(
        "DDE-2026-014",
        "Dégât des eaux au 3e étage",
        EVERYONE | {"lot-12"},
        "dégât",
        messages=25,
        pieces=(
            "devis-plombier.pdf",
            "photo-fuite.png",
            "rapport-intervention.docx",
            "piege.html",
            "plan.svg",
        ),
    ),
    SiteDossier("AG-2026-001", "Assemblée générale 2026", EVERYONE, "convocation"),
    SiteDossier(
        "CS-2026-003", "Réunion du conseil syndical", frozenset({"syndic", "conseil_syndical"}), "quorum"
    ),
    SiteDossier("INT-2026-009", "Contentieux impayés", frozenset({"syndic"}), "huissier"),
    SiteDossier(
        "TRX-2026-002", "Balcon du lot 7", frozenset({"syndic", "conseil_syndical", "lot-7"}), "balcon"
    ),
)


@dataclass
class PublishedSite:
    """What was written: every file of every (building, audience slug) folder, relative to it."""

    root: Path
    files: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def all_paths(self) -> set[tuple[str, str]]:
        """Every (building, relative path) published for any audience."""
        return {(building, rel) for (building, _), rels in self.files.items() for rel in rels}

    def piece(self, building: str, slug: str, name: str) -> str:
        """The relative path of attachment ``name`` in that audience's folder."""
        return next(rel for rel in self.files[building, slug] if rel.endswith(f"/{name}"))


def audience_slug(name: str) -> str:
    """``lot:12`` → ``lot-12``."""
    return name.replace(":", "-")


def write_site(root: Path) -> PublishedSite:
    """Write the whole tree under ``root`` and return its catalogue."""
    site = PublishedSite(root)
    root.mkdir(parents=True, exist_ok=True)
    css = STYLESHEET.read_text("utf-8") if STYLESHEET.exists() else "body { font-family: sans-serif; }\n"
    (root / "style.css").write_text(css, encoding="utf-8")
    for building, name in BUILDINGS.items():
        for audience in AUDIENCES:
            slug = audience_slug(audience)
            site.files[building, slug] = _write_audience(root / building / slug, building, name, slug)
    return site


def _write_audience(folder: Path, building: str, name: str, slug: str) -> set[str]:
    written: set[str] = set()
    dossiers = [dossier for dossier in DOSSIERS if slug in dossier.audiences]
    search_lines: list[str] = []
    for dossier in dossiers:
        pieces = {piece: _piece_path(building, slug, dossier, piece) for piece in dossier.pieces}
        for piece, rel in pieces.items():
            _write(folder / rel, _piece_bytes(piece, building, slug))
            written.add(rel)
        for page in range(1, _page_count(dossier) + 1):
            rel = f"dossiers/{_page_name(dossier, page)}"
            _write(folder / rel, _dossier_page(building, name, slug, dossier, page, pieces).encode())
            written.add(rel)
        search_lines.extend(_search_lines(building, slug, dossier))
    _write(folder / "index.html", _index_page(building, name, slug, dossiers).encode())
    _write(folder / "search.jsonl", "".join(line + "\n" for line in search_lines).encode())
    written.add("index.html")
    return written


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _page_count(dossier: SiteDossier) -> int:
    return -(-dossier.messages // MESSAGES_PER_PAGE)


def _page_name(dossier: SiteDossier, page: int) -> str:
    return f"{dossier.reference}.html" if page == 1 else f"{dossier.reference}-{page}.html"


def _piece_path(building: str, slug: str, dossier: SiteDossier, piece: str) -> str:
    token = hashlib.sha256(f"{building}/{slug}/{dossier.reference}/{piece}".encode()).hexdigest()[:20]
    return f"pieces/{token}/{piece}"


def _piece_bytes(piece: str, building: str, slug: str) -> bytes:
    marker = f"{building} {slug}".encode()
    if piece.endswith(".png"):
        return tiny_png()
    if piece.endswith(".pdf"):
        return b"%PDF-1.4\n% " + marker + b"\n%%EOF\n"
    if piece.endswith(".html"):
        return b"<script>window.__xss = 1</script>" + marker
    if piece.endswith(".svg"):
        return b'<svg xmlns="http://www.w3.org/2000/svg" onload="window.__xss=1"></svg>'
    return b"PK\x03\x04 " + marker


def tiny_png() -> bytes:
    """A valid 4x4 blue PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x20\x40\xa0" * 4 for _ in range(4))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _layout(title: str, name: str, depth: int, body: str) -> str:
    up = "../" * depth
    return (
        '<!doctype html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n"
        f'<link rel="stylesheet" href="{up}style.css">\n</head>\n<body>\n'
        '<header class="site-header"><div class="wrap">'
        f'<p class="site-name">{escape(name)}</p></div></header>\n'
        f'<main id="contenu" class="wrap">\n{body}\n</main>\n</body>\n</html>\n'
    )


def _index_page(building: str, name: str, slug: str, dossiers: list[SiteDossier]) -> str:
    items = "\n".join(
        f'<li class="dossier-card"><h3><a href="dossiers/{d.reference}.html">'
        f'<span class="reference">{d.reference}</span> {escape(d.title)}</a></h3></li>'
        for d in dossiers
    )
    body = (
        f"<h1>{escape(name)}</h1>\n<p>Vue {slug} · {building}</p>\n"
        '<form class="search-form" role="search" action="recherche" method="get">'
        '<label for="q">Rechercher</label> <input id="q" name="q" type="search">'
        ' <button type="submit">Rechercher</button></form>\n'
        f'<h2>Dossiers</h2>\n<ul class="dossier-list">\n{items}\n</ul>'
    )
    return _layout(f"Dossiers — {name}", name, 2, body)


def _dossier_page(
    building: str, name: str, slug: str, dossier: SiteDossier, page: int, pieces: dict[str, str]
) -> str:
    first = (page - 1) * MESSAGES_PER_PAGE + 1
    last = min(dossier.messages, page * MESSAGES_PER_PAGE)
    articles = "\n".join(
        f'<article class="message" id="message-{n}"><h3>Message {n}</h3>'
        f'<div class="message-text">{escape(_message_text(building, slug, dossier, n))}</div></article>'
        for n in range(first, last + 1)
    )
    links = "\n".join(f'<li><a href="../{rel}">{escape(piece)}</a></li>' for piece, rel in pieces.items())
    image = next((rel for piece, rel in pieces.items() if piece.endswith(".png")), None)
    figure = f'<img src="../{image}" alt="Photo de la fuite" width="40" height="40">' if image else ""
    pager = []
    if page > 1:
        pager.append(f'<a rel="prev" href="{_page_name(dossier, page - 1)}">Messages précédents</a>')
    if page < _page_count(dossier):
        pager.append(f'<a rel="next" href="{_page_name(dossier, page + 1)}">Messages suivants</a>')
    body = (
        f'<nav class="breadcrumb"><a href="../index.html">{escape(name)}</a></nav>\n'
        f'<h1><span class="reference">{dossier.reference}</span> {escape(dossier.title)}</h1>\n'
        f"<p>Vue {slug} · {building} · page {page}</p>\n{articles}\n"
        f'<div class="attachments"><ul>\n{links}\n</ul>{figure}</div>\n'
        f'<nav class="pagination" aria-label="Pages du dossier">{" ".join(pager)}</nav>'
    )
    return _layout(f"{dossier.reference} — {name}", name, 3, body)


def _message_text(building: str, slug: str, dossier: SiteDossier, number: int) -> str:
    return (
        f"Message {number} du dossier {dossier.reference} ({dossier.keyword}) "
        f"pour la vue {slug} de {building}."
    )


def _search_lines(building: str, slug: str, dossier: SiteDossier) -> list[str]:
    lines = []
    for number in range(1, dossier.messages + 1):
        page = (number - 1) // MESSAGES_PER_PAGE + 1
        record = {
            "dossier": dossier.reference,
            "title": dossier.title,
            "date": (FIRST_DATE + timedelta(hours=number)).isoformat(),
            "url": f"dossiers/{_page_name(dossier, page)}#message-{number}",
            "text": _message_text(building, slug, dossier, number),
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return lines


def add_buildings(session: Session) -> None:
    """The three buildings, as the rules would have created them."""
    for slug, name in BUILDINGS.items():
        session.add(BuildingRow(slug=slug, name=name))
    session.flush()


def grant_everyone(session: Session) -> dict[tuple[str, str], Grant]:
    """One active grant per building and audience, keyed by (building, audience slug)."""
    return {
        (building, audience_slug(audience)): create_grant(session, NewGrant(building, audience, "30d"))
        for building in BUILDINGS
        for audience in AUDIENCES
    }


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def cookies(self) -> list[str]:
        """The raw ``Set-Cookie`` header, if any."""
        value = self.headers.get("set-cookie")
        return [value] if value else []


def fetch(
    base: str,
    path: str,
    *,
    method: str = "GET",
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Send ``path`` exactly as written (no normalisation) to the server at ``base``."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    sent = dict(headers or {})
    if cookie is not None:
        sent["Cookie"] = cookie
    try:
        connection.request(method, path, headers=sent)
        response = connection.getresponse()
        body = response.read()
        received = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, received, body)
    finally:
        connection.close()


@contextmanager
def running_server(app: ASGIApp, trusted_proxy: str | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free port of 127.0.0.1; yield its base URL; stop it cleanly.

    Like ``dossiermail serve``, no proxy is trusted unless ``trusted_proxy`` names one.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=trusted_proxy is not None,
        forwarded_allow_ips=trusted_proxy,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        assert not thread.is_alive(), "uvicorn did not stop"


def test_every_audience_folder_has_an_index_and_a_search_index(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site")
    for building, slug in site.files:
        assert (tmp_path / "site" / building / slug / "index.html").is_file()
        assert (tmp_path / "site" / building / slug / "search.jsonl").is_file()
    assert (tmp_path / "site" / "style.css").is_file()


def test_pages_need_nothing_the_server_policy_forbids(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site")
    for (building, slug), rels in site.files.items():
        for rel in rels:
            if rel.endswith(".html") and not rel.startswith("pieces/"):
                page = (tmp_path / "site" / building / slug / rel).read_text("utf-8")
                assert "<script" not in page and "style=" not in page and "http" not in page, rel


def test_visibility_differs_between_audiences(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site")
    syndic = site.files["les-mimosas", "syndic"]
    lot_12 = site.files["les-mimosas", "lot-12"]
    assert "dossiers/INT-2026-009.html" in syndic
    assert "dossiers/INT-2026-009.html" not in lot_12
    assert {"dossiers/DDE-2026-014.html", "dossiers/DDE-2026-014-2.html"} <= lot_12
