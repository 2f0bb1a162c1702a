"""The extranet server over real HTTP (uvicorn on 127.0.0.1): who sees what, headers, traversal, methods.

Access matrix: 3 buildings × 5 audiences of grants × every published file of every building and
audience, plus the index, the search and the health check. Only a grant's own building and audience
answer 200 (with that audience's bytes); everything else is the one 404, byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import update

from dossiermail.extranet.app import SESSION_COOKIE, ServerSettings, create_app
from dossiermail.extranet.grants import Grant, NewGrant, create_grant, link_for, revoke_grant
from dossiermail.extranet.headers import SECURITY_HEADERS
from dossiermail.extranet.tokens import link_token, session_value
from dossiermail.store import Store, open_store
from dossiermail.store.models import AccessGrantRow
from tests.test_extranet_site import (
    BUILDINGS,
    DOSSIERS,
    PublishedSite,
    Reply,
    add_buildings,
    fetch,
    grant_everyone,
    running_server,
    write_site,
)

SECRET = b"extranet-test-secret-0123456789abcdef"
OTHER_SECRET = b"another-secret-nobody-should-trust-000000"
HOME = "les-mimosas"


@dataclass(frozen=True)
class Extranet:
    """A running server over a published tree, with one grant per building and audience."""

    base: str
    root: Path
    site: PublishedSite
    store: Store
    grants: dict[tuple[str, str], Grant]

    def get(self, path: str, grant: Grant | None = None, *, method: str = "GET") -> Reply:
        """``path`` with ``grant``'s session cookie (none when ``grant`` is None)."""
        return fetch(self.base, path, method=method, cookie=cookie(grant) if grant else None)

    def file(self, building: str, slug: str, rel: str) -> bytes:
        """The published bytes of one file."""
        return (self.root / building / slug / rel).read_bytes()

    def not_found(self) -> Reply:
        """The answer for a page that exists for nobody."""
        return self.get("/nulle-part/")


def cookie(grant: Grant, secret: bytes = SECRET) -> str:
    """The ``Cookie`` header a browser sends after opening ``grant``'s link."""
    return f"{SESSION_COOKIE}={session_value(secret, grant.token_id)}"


def new_extranet(
    root: Path, secret: bytes = SECRET, *, secure_cookies: bool = False, db_url: str | None = None
) -> Iterator[Extranet]:
    """Publish the test tree under ``root``, store the grants, serve it; stop and close afterwards."""
    site = write_site(root / "site")
    store = open_store(db_url or f"sqlite:///{root}/dossiermail.db")
    try:
        with store.session() as session:
            add_buildings(session)
            grants = grant_everyone(session)
        app = create_app(ServerSettings(root / "site", store, secret, secure_cookies))
        with running_server(app) as base:
            yield Extranet(base, root / "site", site, store, grants)
    finally:
        store.dispose()


@pytest.fixture(scope="module")
def extranet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Extranet]:
    """One server for the read-only tests of this module."""
    yield from new_extranet(tmp_path_factory.mktemp("extranet"))


@pytest.fixture
def fresh(tmp_path: Path, store_url: str) -> Iterator[Extranet]:
    """A server of its own, for tests that change grants or the tree; grants on SQLite and PostgreSQL."""
    yield from new_extranet(tmp_path, db_url=store_url)


def same_404(reply: Reply, reference: Reply, what: str) -> None:
    """``reply`` is the one 404: same status, body and headers (but the date) as ``reference``."""
    assert reply.status == 404, what
    assert reply.body == reference.body, what
    strip = {"date"}
    assert {k: v for k, v in reply.headers.items() if k not in strip} == {
        k: v for k, v in reference.headers.items() if k not in strip
    }, what


def grant_of(extranet: Extranet, building: str, audience: str) -> Grant:
    """A new active grant (so tests that revoke do not disturb the shared ones)."""
    with extranet.store.session() as session:
        return create_grant(session, NewGrant(building, audience, "1d"))


# --- access matrix -----------------------------------------------------------------------------------


def test_each_grant_sees_exactly_its_building_and_audience(extranet: Extranet) -> None:
    reference = extranet.not_found()
    paths = sorted(extranet.site.all_paths())
    served = refused = 0
    for (building, slug), grant in extranet.grants.items():
        own = extranet.site.files[building, slug]
        for path_building, rel in paths:
            reply = extranet.get(f"/{path_building}/{rel}", grant)
            if path_building == building and rel in own:
                assert reply.status == 200, (grant.audience.name, building, path_building, rel)
                assert reply.body == extranet.file(building, slug, rel)
                served += 1
            else:
                same_404(reply, reference, f"{building}/{slug} asking {path_building}/{rel}")
                refused += 1
    expected_served = sum(len(rels) for rels in extranet.site.files.values())
    assert served == expected_served
    assert refused == len(extranet.grants) * len(paths) - expected_served


def test_index_search_and_health_answer_for_the_own_building_only(extranet: Extranet) -> None:
    reference = extranet.not_found()
    for (building, slug), grant in extranet.grants.items():
        for other in BUILDINGS:
            for route in ("", "index.html", "recherche", "recherche?q=d%C3%A9g%C3%A2t"):
                reply = extranet.get(f"/{other}/{route}", grant)
                if other == building:
                    assert reply.status == 200, (building, slug, route)
                else:
                    same_404(reply, reference, f"{building}/{slug} asking {other}/{route}")
            index = extranet.get(f"/{building}/", grant)
            assert index.body == extranet.file(building, slug, "index.html")
        health = extranet.get("/sante", grant)
        assert (health.status, health.body) == (200, b"ok")


def test_without_a_session_everything_but_health_is_the_404(extranet: Extranet) -> None:
    reference = extranet.not_found()
    for building, rel in sorted(extranet.site.all_paths()):
        same_404(extranet.get(f"/{building}/{rel}"), reference, f"{building}/{rel}")
    for building in BUILDINGS:
        for route in ("", "recherche?q=fuite", "index.html"):
            same_404(extranet.get(f"/{building}/{route}"), reference, f"{building}/{route}")
    assert extranet.get("/sante").body == b"ok"
    assert extranet.get("/").status == 200


def test_the_404_is_french_and_says_the_link_may_have_expired(extranet: Extranet) -> None:
    page = extranet.not_found().body.decode()
    assert '<html lang="fr">' in page
    assert "Lien invalide ou expiré" in page
    landing = extranet.get("/").body.decode()
    assert "ouvrez le lien personnel reçu de votre syndic" in landing


# --- links, cookies, revocation, expiry, forgery ------------------------------------------------------


def test_a_link_sets_a_session_cookie_and_leads_to_the_building(extranet: Extranet) -> None:
    grant = grant_of(extranet, HOME, "lot:12")
    opened = extranet.get(f"/acces/{link_for(grant, SECRET)}")
    assert opened.status == 303
    assert opened.headers["location"] == f"/{HOME}/"
    set_cookie = opened.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in set_cookie.split(";")}
    assert {"httponly", "path", "samesite"} <= attributes
    assert "samesite=lax" in set_cookie.lower()
    assert "path=/" in set_cookie.lower()
    assert "secure" not in attributes
    value = set_cookie.split(";")[0]
    page = fetch(extranet.base, f"/{HOME}/", cookie=value)
    assert page.status == 200
    assert page.body == extranet.file(HOME, "lot-12", "index.html")
    assert fetch(extranet.base, "/", cookie=value).headers["location"] == f"/{HOME}/"


def test_the_cookie_is_secure_behind_tls_only(tmp_path: Path) -> None:
    forwarded = {"X-Forwarded-Proto": "https"}
    for extranet in new_extranet(tmp_path / "plain"):
        token = link_for(extranet.grants[HOME, "syndic"], SECRET)
        untrusted = fetch(extranet.base, f"/acces/{token}", headers=forwarded)
        assert "secure" not in untrusted.headers["set-cookie"].lower()
    for extranet in new_extranet(tmp_path / "forced", secure_cookies=True):
        token = link_for(extranet.grants[HOME, "syndic"], SECRET)
        assert "; secure" in extranet.get(f"/acces/{token}").headers["set-cookie"].lower()
    site = write_site(tmp_path / "proxied" / "site")
    store = open_store(f"sqlite:///{tmp_path}/proxied.db")
    try:
        with store.session() as session:
            add_buildings(session)
            grant = create_grant(session, NewGrant(HOME, "syndic"))
        app = create_app(ServerSettings(site.root, store, SECRET))
        with running_server(app, trusted_proxy="127.0.0.1") as base:
            token = link_for(grant, SECRET)
            assert (
                "; secure" in fetch(base, f"/acces/{token}", headers=forwarded).headers["set-cookie"].lower()
            )
            assert "secure" not in fetch(base, f"/acces/{token}").headers["set-cookie"].lower()
    finally:
        store.dispose()


def test_revocation_takes_effect_on_the_next_request(fresh: Extranet) -> None:
    reference = fresh.not_found()
    grant = grant_of(fresh, HOME, "coproprietaires")
    token = link_for(grant, SECRET)
    assert fresh.get(f"/acces/{token}").status == 303
    assert fresh.get(f"/{HOME}/dossiers/AG-2026-001.html", grant).status == 200
    with fresh.store.session() as session:
        revoke_grant(session, grant.id)
    same_404(fresh.get(f"/{HOME}/dossiers/AG-2026-001.html", grant), reference, "revoked session")
    same_404(fresh.get(f"/acces/{token}"), reference, "revoked link")
    same_404(fresh.get(f"/{HOME}/recherche?q=convocation", grant), reference, "revoked search")


def test_expired_links_and_sessions_are_the_404(fresh: Extranet) -> None:
    reference = fresh.not_found()
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    with fresh.store.session() as session:
        expired = create_grant(session, NewGrant(HOME, "syndic", "1h"), now=two_hours_ago)
    same_404(fresh.get(f"/acces/{link_for(expired, SECRET)}"), reference, "expired link")
    same_404(fresh.get(f"/{HOME}/", expired), reference, "expired session")
    with fresh.store.session() as session:
        still = create_grant(session, NewGrant(HOME, "syndic", "3h"), now=two_hours_ago)
    assert fresh.get(f"/acces/{link_for(still, SECRET)}").status == 303


def test_forged_links_and_cookies_are_the_404(fresh: Extranet) -> None:
    reference = fresh.not_found()
    grant = fresh.grants[HOME, "lot-12"]
    syndic = fresh.grants[HOME, "syndic"]
    token = link_for(grant, SECRET)
    token_id, mac = token.split(".")
    flipped = mac[:10] + ("A" if mac[10] != "A" else "B") + mac[11:]
    forgeries = {
        "bit-flipped mac": f"{token_id}.{flipped}",
        "other secret": link_for(grant, OTHER_SECRET),
        "mac of another grant": f"{token_id}.{link_for(syndic, SECRET).split('.')[1]}",
        "another audience signed": link_token(SECRET, token_id, HOME, "syndic", grant.expires_at),
        "truncated": token[:-1],
        "id only": token_id,
    }
    good = cookie(grant)
    for what, forged in forgeries.items():
        same_404(fresh.get(f"/acces/{forged}"), reference, what)
    bad_cookies = {
        "cookie signed with another secret": cookie(grant, OTHER_SECRET),
        "link token as cookie": f"{SESSION_COOKIE}={token}",
        "bit-flipped cookie": good[:-3] + ("x" if good[-3] != "x" else "y") + good[-2:],
        "empty cookie": f"{SESSION_COOKIE}=",
    }
    for what, value in bad_cookies.items():
        same_404(fetch(fresh.base, f"/{HOME}/", cookie=value), reference, what)
    with fresh.store.session() as session:
        session.execute(update(AccessGrantRow).where(AccessGrantRow.id == grant.id).values(audience="syndic"))
    same_404(fresh.get(f"/acces/{token}"), reference, "grant row altered to another audience")


# --- headers, attachments, methods ------------------------------------------------------------------


def test_every_response_carries_the_security_headers(extranet: Extranet) -> None:
    grant = extranet.grants[HOME, "lot-12"]
    replies = {
        "landing": extranet.get("/"),
        "health": extranet.get("/sante"),
        "stylesheet": extranet.get("/style.css"),
        "link": extranet.get(f"/acces/{link_for(grant_of(extranet, HOME, 'lot:12'), SECRET)}"),
        "bad link": extranet.get("/acces/nope"),
        "index": extranet.get(f"/{HOME}/", grant),
        "dossier": extranet.get(f"/{HOME}/dossiers/DDE-2026-014-2.html", grant),
        "search": extranet.get(f"/{HOME}/recherche?q=fuite", grant),
        "missing": extranet.not_found(),
        "post": extranet.get(f"/{HOME}/", grant, method="POST"),
        "head": extranet.get(f"/{HOME}/", grant, method="HEAD"),
    }
    for piece in DOSSIERS[0].pieces:
        replies[piece] = extranet.get(f"/{HOME}/{extranet.site.piece(HOME, 'lot-12', piece)}", grant)
    for what, reply in replies.items():
        for name, value in SECURITY_HEADERS.items():
            assert reply.headers.get(name.lower()) == value, (what, name)
        assert reply.headers["cache-control"] == "private, no-store", what
        assert "server" not in reply.headers, what
    assert replies["index"].headers["content-type"] == "text/html; charset=utf-8"
    assert replies["stylesheet"].headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    ("piece", "content_type", "disposition"),
    [
        ("photo-fuite.png", "image/png", "inline"),
        ("devis-plombier.pdf", "application/pdf", "inline"),
        (
            "rapport-intervention.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "attachment",
        ),
        ("piege.html", "application/octet-stream", "attachment"),
        ("plan.svg", "application/octet-stream", "attachment"),
    ],
)
def test_attachments_are_inline_only_for_allowed_images_and_pdf(
    extranet: Extranet, piece: str, content_type: str, disposition: str
) -> None:
    grant = extranet.grants[HOME, "coproprietaires"]
    rel = extranet.site.piece(HOME, "coproprietaires", piece)
    reply = extranet.get(f"/{HOME}/{rel}", grant)
    assert reply.status == 200
    assert reply.headers["content-type"] == content_type
    assert reply.headers["content-disposition"].startswith(f"{disposition}; filename=")
    assert piece in reply.headers["content-disposition"]
    assert reply.body == extranet.file(HOME, "coproprietaires", rel)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"])
def test_anything_but_get_and_head_is_405(extranet: Extranet, method: str) -> None:
    grant = grant_of(extranet, HOME, "syndic")
    for path in ("/", "/sante", f"/{HOME}/", f"/{HOME}/recherche?q=x", f"/acces/{link_for(grant, SECRET)}"):
        reply = extranet.get(path, grant, method=method)
        assert reply.status == 405, (method, path)
        assert reply.headers["allow"] == "GET, HEAD"
        assert "set-cookie" not in reply.headers


def test_head_answers_like_get_without_a_body(extranet: Extranet) -> None:
    grant = extranet.grants[HOME, "syndic"]
    head = extranet.get(f"/{HOME}/dossiers/INT-2026-009.html", grant, method="HEAD")
    get = extranet.get(f"/{HOME}/dossiers/INT-2026-009.html", grant)
    assert (head.status, head.body) == (200, b"")
    assert head.headers["content-length"] == get.headers["content-length"] != "0"
    assert extranet.get("/nulle-part/", method="HEAD").status == 404


def test_building_without_its_slash_redirects_its_own_grant_only(extranet: Extranet) -> None:
    grant = extranet.grants[HOME, "lot-7"]
    assert extranet.get(f"/{HOME}", grant).headers["location"] == f"/{HOME}/"
    same_404(extranet.get("/le-belvedere", grant), extranet.not_found(), "other building")
    same_404(extranet.get(f"/{HOME}"), extranet.not_found(), "no session")


# --- traversal ----------------------------------------------------------------------------------------

TRAVERSALS = (
    "/{b}/dossiers/../../syndic/index.html",
    "/{b}/../{b}/syndic/index.html",
    "/{b}/syndic/index.html",
    "/{b}/lot-12/index.html",
    "/{b}/dossiers/..%2f..%2fsyndic%2fdossiers%2fINT-2026-009.html",
    "/{b}/dossiers/%2e%2e/%2e%2e/syndic/dossiers/INT-2026-009.html",
    "/{b}/dossiers/%2E%2E%2F%2E%2E%2Fsyndic%2Findex.html",
    "/{b}/..%2fsyndic/index.html",
    "/{b}/%2e%2e%2fsyndic%2findex.html",
    "/{b}/dossiers/..%5c..%5csyndic%5cindex.html",
    r"/{b}/dossiers/..\..\syndic\index.html",
    "/{b}/pieces/x/..%2f..%2f..%2fsyndic%2findex.html",
    "/{b}/pieces/../../syndic/dossiers/INT-2026-009.html",
    "/{b}//etc/passwd",
    "/{b}/%2fetc%2fpasswd",
    "//etc/passwd",
    "/{b}/dossiers/%2fetc%2fpasswd",
    "/{b}/index.html%00",
    "/{b}/dossiers/INT-2026-009.html%00.html",
    "/{b}/search.jsonl",
    "/{b}/dossiers/",
    "/{b}/pieces/",
    "/{b}/dossiers/.secret.html",
    "/{b}/dossiers/leak.html",
    "/{b}/dossiers/INT-2026-009.html",
    "/{b}/pieces/abc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/{b}%2fsyndic/index.html",
    "/{b}/dossiers/DDE-2026-014.html/..%2f..%2f..%2fsyndic%2findex.html",
    "/{b}/dossiers%2FDDE-2026-014.html",
    "/{b}/dossiers%2fDDE-2026-014.html",
    "/{b}/dossiers%5cDDE-2026-014.html",
    "/{b}/%2e%2e/{b}/index.html",
    "/{b}/./index.html",
    "/.manifest.json",
    "/{b}/.manifest.json",
    "/{b}/index.html/",
    "/{b}/dossiers/./DDE-2026-014.html",
)


def test_traversal_and_symlinks_never_leave_the_grant_folder(fresh: Extranet) -> None:
    reference = fresh.not_found()
    own = fresh.root / HOME / "lot-12"
    (own / "dossiers" / "leak.html").symlink_to(Path("/etc/passwd"))
    (own / "dossiers" / "INT-2026-009.html").symlink_to(
        fresh.root / HOME / "syndic/dossiers/INT-2026-009.html"
    )
    (own / "dossiers" / ".secret.html").write_text("caché", encoding="utf-8")
    (own / "pieces" / "abc").mkdir()
    (own / "pieces" / "abc" / "passwd").symlink_to(Path("/etc/passwd"))
    grant = fresh.grants[HOME, "lot-12"]
    assert fresh.get(f"/{HOME}/dossiers/DDE-2026-014.html", grant).status == 200
    for pattern in TRAVERSALS:
        path = pattern.format(b=HOME)
        same_404(fresh.get(path, grant), reference, path)
    same_404(
        fresh.get(f"/{quote(str(fresh.root / HOME / 'syndic' / 'index.html'))}", grant), reference, "abs"
    )


def test_an_audience_folder_symlinked_to_another_is_refused(fresh: Extranet) -> None:
    building = "villa-carabacel"
    folder = fresh.root / building / "lot-7"
    for child in sorted(folder.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    folder.rmdir()
    folder.symlink_to(fresh.root / building / "syndic")
    grant = fresh.grants[building, "lot-7"]
    same_404(fresh.get(f"/{building}/", grant), fresh.not_found(), "symlinked audience")
    same_404(fresh.get(f"/{building}/recherche?q=huissier", grant), fresh.not_found(), "symlinked search")


# --- search ---------------------------------------------------------------------------------------------

HIT = re.compile(r'<li class="dossier-card search-hit">')


def test_search_finds_only_what_the_grant_audience_may_see(extranet: Extranet) -> None:
    for (building, slug), grant in extranet.grants.items():
        if building != HOME:
            continue
        for dossier in DOSSIERS:
            reply = extranet.get(f"/{HOME}/recherche?q={quote(dossier.keyword)}", grant)
            page = reply.body.decode()
            hits = len(HIT.findall(page))
            if slug in dossier.audiences:
                assert hits == min(dossier.messages, 20), (slug, dossier.reference)
                assert f"pour la vue {slug} de {HOME}" in page
            else:
                assert hits == 0, (slug, dossier.reference)
                assert "Aucun résultat" in page
            assert re.findall(r"pour la vue ([\w-]+) de", page) in ([], [slug] * hits)


def test_search_ignores_accents_and_case_and_needs_every_word(extranet: Extranet) -> None:
    grant = extranet.grants[HOME, "lot-12"]

    def hits(query: str) -> int:
        return len(HIT.findall(extranet.get(f"/{HOME}/recherche?q={quote(query)}", grant).body.decode()))

    assert hits("DEGAT") == hits("dégât") == hits("Dégat ÉTAGE") == 20
    assert hits("dégât balcon") == 0
    assert hits("quorum") == 0


def test_search_results_are_paginated(extranet: Extranet) -> None:
    grant = extranet.grants[HOME, "syndic"]
    first = extranet.get(f"/{HOME}/recherche?q=degat", grant).body.decode()
    assert "25 résultats" in first
    assert len(HIT.findall(first)) == 20
    following = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert following is not None
    second = extranet.get(f"/{HOME}/{following.group(1).replace('&amp;', '&')}", grant).body.decode()
    assert len(HIT.findall(second)) == 5
    assert 'rel="prev"' in second and 'rel="next"' not in second
    assert "Page 2 sur 2" in second


def test_search_escapes_the_query(extranet: Extranet) -> None:
    grant = extranet.grants[HOME, "syndic"]
    payload = '"><script>window.__xss=1</script><img src=x onerror=alert(1)>'
    page = extranet.get(f"/{HOME}/recherche?q={quote(payload)}", grant).body.decode()
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page
