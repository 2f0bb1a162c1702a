"""The real chain on the samples: import, publish, grant, ``dossiermail serve`` as a process, Chromium.

Nothing here is a fixture tree: the pages are the ones ``dossiermail publish`` wrote from the sample
mail, served by the ``serve`` command a deployment runs, and stopped with SIGTERM like a container.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import RULES, SAMPLES
from tests.test_extranet_browser import assert_clean, watched_page
from tests.test_extranet_site import fetch

BUILDING = "les-mimosas"
AUDIENCE = "lot-12"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """One CLI command in a new process; fails the test with its stderr if it fails."""
    env = {**os.environ, "COLUMNS": "200"}
    for name in ("DOSSIERMAIL_SECRET", "DOSSIERMAIL_DB", "DOSSIERMAIL_BASE_URL"):
        env.pop(name, None)
    command = [sys.executable, "-m", "dossiermail", *args]
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    return result


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """The samples published and served by a ``dossiermail serve`` process."""

    base: str
    site: Path
    links: dict[str, str]
    process: subprocess.Popen[str]

    def files(self, audience: str) -> set[str]:
        """The published files of one audience of the building, relative to its folder."""
        folder = self.site / BUILDING / audience
        return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def wait_until_up(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dossiermail serve exited: {process.communicate()[1]}")
        try:
            if fetch(base, "/sante").status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dossiermail serve did not answer /sante")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("e2e")
    db = ("--db", f"sqlite:///{work}/dossiermail.db")
    cli("import", str(SAMPLES), "--rules", str(RULES), "--quiet", *db, cwd=work)
    cli("publish", "--out", "site", "--rules", str(RULES), *db, cwd=work)
    if not (work / "site" / BUILDING / AUDIENCE / "index.html").is_file():
        pytest.fail("dossiermail publish did not write the per-audience tree SITE/<building>/<audience>/")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    links = {
        audience: cli(
            "access", "grant", BUILDING, "--audience", audience, "--base-url", base, *db, cwd=work
        ).stdout.strip()
        for audience in ("lot:12", "syndic", "coproprietaires")
    }
    command = [sys.executable, "-m", "dossiermail", "serve", "--port", str(port), "--site", "site", *db]
    process = subprocess.Popen(command, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(base, process)
        yield Served(base, work / "site", links, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def session_of(served: Served, audience: str) -> str:
    """Open ``audience``'s link like a browser and keep the cookie it sets."""
    opened = fetch(served.base, urlsplit(served.links[audience]).path)
    assert opened.status == 303
    return opened.headers["set-cookie"].split(";")[0]


def test_a_lot_owner_gets_exactly_the_published_lot_folder(served: Served) -> None:
    cookie = session_of(served, "lot:12")
    own = served.files(AUDIENCE) - {"search.jsonl"}
    assert any(rel.startswith("dossiers/") for rel in own) and any(rel.startswith("pieces/") for rel in own)
    for rel in sorted(own):
        reply = fetch(served.base, f"/{BUILDING}/{quote(rel)}", cookie=cookie)
        assert reply.status == 200, rel
        assert reply.body == (served.site / BUILDING / AUDIENCE / rel).read_bytes()
    missing = fetch(served.base, "/nulle-part/")
    others = set().union(*(served.files(a) for a in ("syndic", "conseil_syndical", "coproprietaires"))) - own
    assert others, "the syndic sees more than one lot's owner in the samples"
    for rel in sorted(others - {"search.jsonl"}):
        reply = fetch(served.base, f"/{BUILDING}/{quote(rel)}", cookie=cookie)
        assert (reply.status, reply.body) == (404, missing.body), rel


def test_search_on_the_samples_links_to_pages_that_answer(served: Served) -> None:
    cookie = session_of(served, "lot:12")
    page = fetch(served.base, f"/{BUILDING}/recherche?q=fuite", cookie=cookie).body.decode()
    links = re.findall(r'<li class="dossier-card search-hit">\s*<h3><a href="([^"]+)"', page)
    assert links, page
    for link in links:
        assert fetch(served.base, f"/{BUILDING}/{link.split('#')[0]}", cookie=cookie).status == 200


def test_the_samples_render_cleanly_in_chromium(chromium: Browser, served: Served, tmp_path: Path) -> None:
    for audience in ("lot:12", "syndic"):
        page, watch = watched_page(chromium, tmp_path)
        try:
            page.goto(served.links[audience])
            expect(page).to_have_url(f"{served.base}/{BUILDING}/")
            hrefs = page.eval_on_selector_all(
                "main a[href^='dossiers/']", "(links) => links.map(a => a.href)"
            )
            assert hrefs, audience
            for href in hrefs:
                page.goto(href)
                expect(page.locator("h1")).to_be_visible()
            page.goto(f"{served.base}/{BUILDING}/recherche?q=fuite")
            expect(page.locator("li.search-hit").first).to_be_visible()
            assert_clean(page, watch, served.base)
        finally:
            page.context.close()


def test_sigterm_stops_the_server_cleanly_and_tokens_stay_out_of_the_log(served: Served) -> None:
    session_of(served, "coproprietaires")
    served.process.send_signal(signal.SIGTERM)
    _, stderr = served.process.communicate(timeout=15)
    assert served.process.returncode == 0, stderr
    for link in served.links.values():
        assert urlsplit(link).path.split("/")[-1] not in stderr
    assert "GET /acces/… 303" in stderr


def test_serve_without_a_published_site_is_one_line(tmp_path: Path) -> None:
    port = str(free_port())
    command = [sys.executable, "-m", "dossiermail", "serve", "--site", "nulle-part", "--port", port]
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1
    assert lines == [
        "dossiermail: error: site folder nulle-part does not exist (see 'dossiermail publish --out')"
    ]
