"""The published pages in a real Chromium: readable at phone width, keyboard-usable, contrasted enough."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from dossiermail.publish import publish_site
from dossiermail.rules import empty_rules
from tests.conftest_publish import Mail, open_mailroom

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PAGES = ("index.html", "dossiers/DDE-2026-014.html")
CONTRAST = """() => {
  const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const value = rgb(getComputedStyle(node).backgroundColor);
      if (value.length < 4 || value[3] > 0) return value.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const element of document.querySelectorAll("body *")) {
    const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !element.getClientRects().length) continue;
    const a = luminance(rgb(getComputedStyle(element).color)), b = luminance(background(element));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push(`${element.tagName}.${element.className}: ${ratio.toFixed(2)}`);
  }
  return worst;
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("site")
    with open_mailroom(f"sqlite:///{folder}/t.db") as room:
        tilleuls = room.building(
            "tilleuls", "Résidence Les Tilleuls aux noms très longs", "12 rue des Tilleuls"
        )
        leak = room.dossier(tilleuls, "DDE-2026-014", "Fuite au troisième étage côté cour, colonne d’eau")
        room.dossier(tilleuls, "AG-2026-001", "Assemblée générale")
        for day in range(1, 4):
            room.message(
                leak,
                Mail(
                    date=datetime(2026, 3, day, 9, tzinfo=UTC),
                    subject="RE: Fuite " + "très " * 20,
                    text="Une adresse sans espace : https://exemple.fr/" + "a" * 120,
                    quoted_text="Le 2 mars, a écrit :\n> Fuite",
                    signature="Plomberie Martin",
                    attachments=[("devis-" + "x" * 80 + ".pdf", "application/pdf", 86016)],
                ),
            )
        publish_site(room.session, empty_rules(), folder / "out")
    yield folder / "out" / "tilleuls" / "coproprietaires"


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on(
        "request", lambda request: errors.append(request.url) if not request.url.startswith("file:") else None
    )
    yield page
    context.close()
    assert errors == []


@pytest.mark.parametrize("name", PAGES)
def test_pages_fit_a_360_pixel_phone_without_sideways_scrolling(site: Path, phone: Page, name: str) -> None:
    phone.goto((site / name).as_uri())

    assert phone.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert phone.evaluate("getComputedStyle(document.body).fontFamily").startswith("system-ui")


@pytest.mark.parametrize("name", PAGES)
def test_the_first_tab_shows_a_skip_link_to_the_content(site: Path, phone: Page, name: str) -> None:
    phone.goto((site / name).as_uri())

    phone.keyboard.press("Tab")

    focused = phone.evaluate(
        "(() => { const e = document.activeElement, r = e.getBoundingClientRect(), s = getComputedStyle(e);"
        " return [e.textContent, r.left >= 0 && r.top >= 0, s.outlineStyle]; })()"
    )
    assert focused == ["Aller au contenu", True, "solid"]
    phone.keyboard.press("Enter")
    assert phone.evaluate("location.hash") == "#contenu"


@pytest.mark.parametrize("name", PAGES)
def test_all_text_meets_the_wcag_aa_contrast_ratio(site: Path, phone: Page, name: str) -> None:
    phone.goto((site / name).as_uri())
    phone.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")

    assert phone.evaluate(CONTRAST) == []


def test_links_and_summaries_are_reachable_by_keyboard(site: Path, phone: Page) -> None:
    phone.goto((site / "dossiers" / "DDE-2026-014.html").as_uri())

    reached = []
    for _ in range(12):
        phone.keyboard.press("Tab")
        reached.append(
            phone.evaluate("document.activeElement.tagName + ':' + document.activeElement.textContent")
        )

    assert "A:Résidence Les Tilleuls aux noms très longs" in reached
    assert "SUMMARY:Message précédent" in reached
