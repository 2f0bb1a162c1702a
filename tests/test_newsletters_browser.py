"""Real newsletters with tracking pixels, published and shown in Chromium: nothing leaves 127.0.0.1.

The twelve newsletters of ``tests/data/newsletters`` (SpamAssassin corpus, unchanged bodies) are
re-addressed as replies in a dossier of ``rules/`` — their bulk headers dropped so routing files them
instead of ignoring them — imported next to the samples, published, and every page of the building is
opened in Chromium through the XSS pipeline test's ``visit_all``, which records any request to another
host and aborts it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.conftest import ROOT, RULES, SAMPLES
from tests.test_xss_pipeline import (
    BUILDING,
    BUILDING_ADDRESS,
    LOCAL_HOST,
    PARENT_ID,
    REFERENCE,
    _QuietHandler,
    dossiermail,
    visit_all,
)

pytestmark = pytest.mark.slow

NEWSLETTERS = ROOT / "tests" / "data" / "newsletters"
_DROPPED = re.compile(
    rb"^(precedence|list-[a-z-]+|to|cc|in-reply-to|references|subject|auto-submitted):", re.IGNORECASE
)
_REMOTE_SRC = re.compile(
    r"""<(?:img|link|script|iframe)\b[^>]*(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE
)


def readdressed(raw: bytes, number: int) -> bytes:
    """The newsletter as a reply in the dossier: routing headers replaced, body untouched."""
    head, separator, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    dropping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_DROPPED.match(line))
        if not dropping:
            kept.append(line)
    kept += [
        f"To: {BUILDING_ADDRESS}".encode(),
        f"Subject: RE: [{REFERENCE}] lettre-{number:02d}".encode(),
        f"In-Reply-To: {PARENT_ID}".encode(),
        f"References: {PARENT_ID}".encode(),
    ]
    return b"\n".join(kept) + separator + body


@pytest.fixture
def published(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """Samples and newsletters imported and published, the site served on 127.0.0.1."""
    mails = tmp_path / "lettres"
    mails.mkdir()
    for number, path in enumerate(sorted(NEWSLETTERS.glob("*.eml")), start=1):
        (mails / path.name).write_bytes(readdressed(path.read_bytes(), number))
    database = f"sqlite:///{tmp_path}/store.db"
    dossiermail("import", str(SAMPLES), "--rules", str(RULES), "--db", database, "-q")
    dossiermail("import", str(mails), "--rules", str(RULES), "--db", database, "-q")
    site = tmp_path / "site"
    dossiermail("publish", "--out", str(site), "--rules", str(RULES), "--db", database)
    server = ThreadingHTTPServer((LOCAL_HOST, 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://{LOCAL_HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_corpus_really_has_remote_content() -> None:
    files = sorted(NEWSLETTERS.glob("*.eml"))
    assert len(files) == 12
    with_remote = [path for path in files if _REMOTE_SRC.search(path.read_text("latin-1"))]
    assert len(with_remote) == len(files)


def test_newsletters_are_shown_without_any_request_beyond_the_server(
    chromium: Browser, published: tuple[Path, str]
) -> None:
    site, base = published
    pages = sorted((site / BUILDING).rglob("*.html"))
    syndic = "".join(
        page.read_text(encoding="utf-8") for page in pages if "/syndic/dossiers/" in page.as_posix()
    )
    assert all(f"lettre-{number:02d}" in syndic for number in range(1, 13))
    assert "images distantes bloquées" in syndic
    assert _REMOTE_SRC.search(syndic) is None
    assert visit_all(chromium, site, base, pages) == []
