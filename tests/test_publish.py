"""Specification of the static French extranet: what pages are written and what they may show."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from dossiermail.audience import SYNDIC, Audience
from dossiermail.publish import PublishReport, publish_site
from dossiermail.publish.durable import write_atomically
from dossiermail.publish.formatting import file_size, fr_datetime, safe_filename
from dossiermail.rules import empty_rules
from dossiermail.timeline import TimelineLookupError
from tests.conftest_publish import Mail, Mailroom, open_mailroom

PARIS_WINTER = timezone(timedelta(hours=1))
SENDER_ADDRESSES = (
    "jean.dupont@example.fr",
    "contact@plomberie-martin.example",
    "gestion@syndic.example",
    "anonyme@example.net",
)
VOID_ELEMENTS = {"meta", "link", "br", "hr", "img", "input", "wbr"}


def publish(
    mailroom: Mailroom,
    out: Path,
    *,
    buildings: list[str] | None = None,
    audiences: list[Audience] | None = None,
) -> PublishReport:
    """Publish with the default rules (redaction.yaml's defaults, no contacts)."""
    return publish_site(mailroom.session, empty_rules(), out, buildings=buildings, audiences=audiences)


def syndic(site: Path, building: str = "tilleuls") -> Path:
    return site / building / "syndic"


def owners(site: Path, building: str = "tilleuls") -> Path:
    return site / building / "coproprietaires"


@pytest.fixture
def mailroom(tmp_path: Path) -> Iterator[Mailroom]:
    with open_mailroom(f"sqlite:///{tmp_path}/t.db") as room:
        yield room


@pytest.fixture
def site(mailroom: Mailroom, tmp_path: Path) -> Path:
    """Two buildings: Les Tilleuls with a leak dossier of three messages, Les Platanes with one."""
    mailroom.contact("contact@plomberie-martin.example", "Plomberie Martin", "fournisseur")
    mailroom.contact("gestion@syndic.example", "", "gestionnaire")
    tilleuls = mailroom.building("tilleuls", "Résidence Les Tilleuls", "12 rue des Tilleuls")
    platanes = mailroom.building("platanes", "Les Platanes")
    leak = mailroom.dossier(tilleuls, "DDE-2026-014", "Fuite au 3e étage", status="ouvert")
    mailroom.dossier(tilleuls, "DDE-2026-015", "Ravalement", status="a_qualifier")
    mailroom.dossier(tilleuls, "DDE-2025-090", "Digicode", status="clos")
    roof = mailroom.dossier(platanes, "PLA-2026-001", "Toiture des Platanes")
    mailroom.message(
        leak,
        Mail(
            date=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
            from_name="",
            from_email="contact@plomberie-martin.example",
            subject="RE: Fuite au 3e étage",
            text="Intervention prévue jeudi.\nMerci de prévenir les occupants.",
            quoted_text="Le 3 mars, Jean Dupont <jean.dupont@example.fr> a écrit :\n> Fuite !",
            signature="Plomberie Martin\ncontact@plomberie-martin.example",
            attachments=[("devis.pdf", "application/pdf", 86016)],
        ),
    )
    mailroom.message(
        leak,
        Mail(
            date=datetime(2026, 3, 3, 10, 12, tzinfo=PARIS_WINTER),
            from_name="Jean Dupont",
            from_email="jean.dupont@example.fr",
            subject="Fuite au 3e étage",
        ),
    )
    mailroom.message(
        leak,
        Mail(
            date=datetime(2026, 3, 6, 17, 45, tzinfo=UTC),
            from_name="gestion@syndic.example",
            from_email="gestion@syndic.example",
            subject="Compte rendu d’intervention",
        ),
    )
    mailroom.message(roof, Mail(date=datetime(2026, 3, 9, 9, 0, tzinfo=UTC), subject="Tuiles"))
    out = tmp_path / "site"
    publish(mailroom, out)
    return out


def test_each_building_and_audience_gets_an_index_a_search_index_and_one_page_per_dossier(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    tilleuls = mailroom.building("tilleuls")
    mailroom.dossier(tilleuls, "DDE-2026-014")
    mailroom.dossier(tilleuls, "DDE-2026-015")
    mailroom.building("platanes")
    out = tmp_path / "site"

    report = publish(mailroom, out)

    assert report.buildings == ("platanes", "tilleuls")
    assert [(p.building, p.audience.name) for p in report.publications] == [
        (building, audience)
        for building in ("platanes", "tilleuls")
        for audience in ("syndic", "conseil_syndical", "coproprietaires")
    ]
    assert report.index_pages[0] == out / "platanes" / "syndic" / "index.html"
    assert written_files(out) == sorted(
        [
            ".manifest.json",
            *(
                f"{building}/{audience}/{name}"
                for building, dossiers in (("platanes", []), ("tilleuls", ["DDE-2026-014", "DDE-2026-015"]))
                for audience in ("conseil_syndical", "coproprietaires", "syndic")
                for name in (*(f"dossiers/{d}.html" for d in dossiers), "index.html", "search.jsonl")
            ),
            "style.css",
        ]
    )
    assert sorted(report.written) == [name for name in written_files(out) if name != ".manifest.json"]
    assert report.unchanged == 0
    assert report.removed == ()


def test_index_lists_dossiers_with_french_status_last_activity_and_count(site: Path) -> None:
    index = read(syndic(site) / "index.html")

    cards = re.findall(r'<li class="dossier-card">(.*?)</li>', index, re.S)
    references = [re.findall(r'class="reference">([^<]+)', card) for card in cards]
    assert references == [["DDE-2026-014"], ["DDE-2025-090"], ["DDE-2026-015"]]
    leak = text_of(cards[0])
    assert "Fuite au 3e étage" in leak
    assert "Statut : Ouvert" in leak
    assert "Dernière activité : 6 mars 2026 à 18:45" in leak
    assert "Messages : 3" in leak
    assert 'href="dossiers/DDE-2026-014.html"' in cards[0]
    assert "Statut : À qualifier" in index_text(site)
    assert "Statut : Clos" in index_text(site)
    assert "Messages : 0" in index_text(site)


def test_dossier_page_shows_messages_in_chronological_order(site: Path) -> None:
    page = read(syndic(site) / "dossiers" / "DDE-2026-014.html")

    subjects = re.findall(r"<h3 [^>]*>([^<]*)</h3>", page)
    assert subjects == [
        "Fuite au 3e étage",
        "RE: Fuite au 3e étage",
        "Compte rendu d’intervention",
    ]


def test_dates_are_shown_in_paris_time_in_french(site: Path) -> None:
    page = read(syndic(site) / "dossiers" / "DDE-2026-014.html")

    assert '<time datetime="2026-03-03T10:12+01:00">3 mars 2026 à 10:12</time>' in page
    assert '<time datetime="2026-03-05T09:00+01:00">5 mars 2026 à 09:00</time>' in page


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2026, 7, 14, 10, 12, tzinfo=UTC), "14 juillet 2026 à 12:12"),
        (datetime(2026, 1, 1, 10, 12, tzinfo=UTC), "1er janvier 2026 à 11:12"),
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "29 mars 2026 à 01:30"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "29 mars 2026 à 03:30"),
        (
            datetime(2026, 8, 31, 23, 0, tzinfo=timezone(timedelta(hours=-4))),
            "1er septembre 2026 à 05:00",
        ),
        (None, "date inconnue"),
    ],
)
def test_french_date_follows_paris_summer_and_winter_time(moment: datetime | None, shown: str) -> None:
    assert fr_datetime(moment) == shown


def test_a_july_message_sent_at_utc_is_shown_two_hours_later(mailroom: Mailroom, tmp_path: Path) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-020")
    mailroom.message(dossier, Mail(date=datetime(2026, 7, 15, 10, 12, tzinfo=UTC)))

    publish(mailroom, tmp_path / "site")

    page = read(syndic(tmp_path / "site") / "dossiers" / "DDE-2026-020.html")
    assert '<time datetime="2026-07-15T12:12+02:00">15 juillet 2026 à 12:12</time>' in page


def test_an_undated_message_shows_its_reception_time(mailroom: Mailroom, tmp_path: Path) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-020")
    mailroom.message(dossier, Mail(date=None, received_at=datetime(2026, 2, 2, 7, 5, tzinfo=UTC)))

    publish(mailroom, tmp_path / "site")

    page = text_of(read(syndic(tmp_path / "site") / "dossiers" / "DDE-2026-020.html"))
    assert "2 février 2026 à 08:05 (date de réception)" in page


def test_senders_are_shown_by_name_with_their_french_role(site: Path) -> None:
    page = read(syndic(site) / "dossiers" / "DDE-2026-014.html")

    meta = [text_of(m) for m in re.findall(r'<p class="message-meta">(.*?)</p>', page, re.S)]
    assert meta[0].startswith("Jean Dupont 3 mars")
    assert meta[1].startswith("Plomberie Martin Prestataire 5 mars")
    assert meta[2].startswith("Gestionnaire 6 mars")


def test_no_sender_address_appears_in_any_page_but_the_syndics(site: Path) -> None:
    for path in [*site.rglob("*.html"), *site.rglob("*.jsonl")]:
        if path.is_relative_to(site / "tilleuls" / "syndic") or path.is_relative_to(
            site / "platanes" / "syndic"
        ):
            continue
        content = read(path).lower()
        for address in SENDER_ADDRESSES:
            assert address not in content, f"{address} in {path}"
        assert "@" not in content, f"an address-like text in {path}"
    page = text_of(read(owners(site) / "dossiers" / "DDE-2026-014.html"))
    assert "Jean Dupont <[adresse mail masquée]> a écrit" in page


def test_the_syndic_reads_everything_unmasked(site: Path) -> None:
    page = text_of(read(syndic(site) / "dossiers" / "DDE-2026-014.html"))

    assert "Jean Dupont <jean.dupont@example.fr> a écrit" in page
    assert "rien n’est masqué" in page


def test_html_in_mail_is_shown_as_text_never_run(mailroom: Mailroom, tmp_path: Path) -> None:
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    building = mailroom.building("tilleuls", name=f"Tilleuls {attack}")
    dossier = mailroom.dossier(building, "DDE-2026-020", title=f"Titre {attack}")
    mailroom.message(
        dossier,
        Mail(
            date=datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
            from_name=f"Pirate {attack}",
            subject=f"Objet {attack}",
            text=f"Corps {attack}",
            quoted_text=f"Ancien {attack}",
            signature=f"Signature {attack}",
            attachments=[(f"{attack}.pdf", "application/pdf", 10)],
        ),
    )

    publish(mailroom, tmp_path / "site")

    page = read(syndic(tmp_path / "site") / "dossiers" / "DDE-2026-020.html")
    assert 'Corps &lt;script&gt;alert("x")&lt;/script&gt;&lt;img src=x' in page
    for path in (tmp_path / "site").rglob("*.html"):
        assert "<script" not in read(path).lower()
        assert "<img" not in read(path).lower()


def test_pages_carry_no_javascript_and_no_remote_resource(site: Path) -> None:
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        content = read(path)
        assert not re.search(r"<script|\son\w+\s*=|javascript:", content, re.I), path
        assert not re.search(r"(src|href)\s*=\s*\"?(https?:)?//", content, re.I), path
        assert not re.search(r"@import|url\(|@font-face", content, re.I), path
    stylesheet = read(site / "style.css")
    assert "system-ui" in stylesheet
    assert "max-width" in stylesheet


def test_pages_are_french_well_formed_and_use_landmarks(site: Path) -> None:
    for path in site.rglob("*.html"):
        outline = Outline.of(read(path))
        assert outline.lang == "fr", path
        assert outline.unclosed == [], path
        assert {"header", "main", "footer"} <= outline.tags, path
        assert outline.headings.count(1) == 1, path
        assert outline.headings[0] == 1, path
        assert all(b - a <= 1 for a, b in itertools.pairwise(outline.headings)), path


def test_dossier_page_has_a_breadcrumb_back_to_the_building_and_one_article_per_message(
    site: Path,
) -> None:
    page = read(syndic(site) / "dossiers" / "DDE-2026-014.html")

    breadcrumb = re.search(r'<nav class="breadcrumb[^"]*" aria-label="([^"]+)">(.*?)</nav>', page, re.S)
    assert breadcrumb is not None
    assert breadcrumb[1] == "Fil d’Ariane"
    assert '<a href="../index.html">Résidence Les Tilleuls</a>' in breadcrumb[2]
    assert page.count("<article ") == 3
    assert page.count("<time datetime=") == 4
    assert '<link rel="stylesheet" href="../../../style.css">' in page
    assert '<a class="skip-link" href="#contenu">Aller au contenu</a>' in page


def test_quoted_history_is_collapsed_redacted_and_line_breaks_are_kept(site: Path) -> None:
    page = read(owners(site) / "dossiers" / "DDE-2026-014.html")

    assert re.search(
        r'<details class="quoted">\s*<summary>Message précédent</summary>\s*'
        r'<div class="message-body"><p>Le 3 mars, Jean Dupont &lt;\[adresse mail masquée\]&gt; a écrit :<br>'
        r"&gt; Fuite !</p></div>\s*</details>",
        page,
    )
    assert "<p>Intervention prévue jeudi.<br>Merci de prévenir les occupants.</p>" in page
    assert re.search(
        r'<details class="signature">\s*<summary>Signature</summary>\s*'
        r'<div class="message-body"><p>Plomberie Martin<br>\[adresse mail masquée\]</p></div>',
        page,
    )


def test_attachments_whose_bytes_cannot_be_read_are_listed_as_not_published(site: Path) -> None:
    page = read(syndic(site) / "dossiers" / "DDE-2026-014.html")

    assert '<li>devis.pdf (84 Ko, <span class="unpublished">non publiée</span>)</li>' in page
    assert 'href="../pieces' not in page
    assert not (syndic(site) / "pieces").exists()


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 octet"), (512, "512 octets"), (86016, "84 Ko"), (2_516_582, "2,4 Mo")],
)
def test_file_sizes_are_in_french_units(size: int, shown: str) -> None:
    assert file_size(size) == shown


def test_another_buildings_dossiers_never_appear_on_a_buildings_pages(site: Path) -> None:
    assert sorted(p.name for p in (syndic(site) / "dossiers").iterdir()) == [
        "DDE-2025-090.html",
        "DDE-2026-014.html",
        "DDE-2026-015.html",
    ]
    for path in (site / "tilleuls").rglob("*.html"):
        content = read(path)
        assert "PLA-2026-001" not in content
        assert "Platanes" not in content
        assert "Tuiles" not in content


def test_page_file_names_are_made_safe(mailroom: Mailroom, tmp_path: Path) -> None:
    building = mailroom.building("tilleuls")
    mailroom.dossier(building, "../../etc/passwd")
    mailroom.dossier(building, "DDE 2026/7 é")
    mailroom.dossier(building, "...")

    publish(mailroom, tmp_path / "site")

    dossiers = syndic(tmp_path / "site") / "dossiers"
    names = sorted(p.name for p in dossiers.iterdir())
    assert names == ["DDE_2026_7__.html", "_.._etc_passwd.html", "dossier.html"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in names)
    assert [name for name in written_files(tmp_path / "site") if name.startswith("tilleuls/syndic/")] == [
        *(f"tilleuls/syndic/dossiers/{name}" for name in names),
        "tilleuls/syndic/index.html",
        "tilleuls/syndic/search.jsonl",
    ]
    assert 'href="dossiers/DDE_2026_7__.html"' in read(syndic(tmp_path / "site") / "index.html")


@pytest.mark.parametrize(
    ("name", "safe"),
    [("DDE-2026-014", "DDE-2026-014"), ("a/b\\c", "a_b_c"), (".hidden", "hidden"), ("", "dossier")],
)
def test_safe_filename_keeps_only_letters_digits_dot_dash_underscore(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_references_that_clash_once_made_safe_get_distinct_pages(mailroom: Mailroom, tmp_path: Path) -> None:
    building = mailroom.building("tilleuls")
    slash = mailroom.dossier(building, "DDE/1", title="Avec barre")
    underscore = mailroom.dossier(building, "dde_1", title="Avec souligné")

    publish(mailroom, tmp_path / "site")

    dossiers = syndic(tmp_path / "site") / "dossiers"
    assert "Avec barre" in read(dossiers / f"DDE_1-{slash.id}.html")
    assert "Avec souligné" in read(dossiers / f"dde_1-{underscore.id}.html")


def test_a_building_without_dossier_says_so(mailroom: Mailroom, tmp_path: Path) -> None:
    mailroom.building("tilleuls")

    publish(mailroom, tmp_path / "site")

    index = text_of(read(syndic(tmp_path / "site") / "index.html"))
    assert "Aucun dossier pour cet immeuble pour le moment." in index


def test_republishing_is_idempotent(mailroom: Mailroom, site: Path) -> None:
    before = snapshot(site)

    publish(mailroom, site)

    assert snapshot(site) == before
    assert [p.name for p in site.rglob("*") if p.name.startswith(".")] == [".manifest.json"]


def test_republishing_removes_the_page_of_a_dossier_that_changed_reference(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    publish(mailroom, tmp_path / "site")
    dossier.reference = "DDE-2026-114"
    mailroom.session.flush()

    publish(mailroom, tmp_path / "site")

    pages = sorted(p.name for p in (syndic(tmp_path / "site") / "dossiers").iterdir())
    assert pages == ["DDE-2026-114.html"]


def test_publishing_some_buildings_leaves_the_others_alone(mailroom: Mailroom, tmp_path: Path) -> None:
    mailroom.building("tilleuls")
    mailroom.building("platanes")

    publish(mailroom, tmp_path / "site", audiences=[SYNDIC])
    (tmp_path / "site" / "tilleuls" / "syndic" / "index.html").write_text("à garder", encoding="utf-8")
    mailroom.building("acacias")

    report = publish(mailroom, tmp_path / "site", buildings=["platanes", "acacias"])

    assert report.buildings == ("platanes", "acacias")
    assert {p.building for p in report.publications} == {"platanes", "acacias"}
    assert read(tmp_path / "site" / "tilleuls" / "syndic" / "index.html") == "à garder"
    assert (tmp_path / "site" / "acacias" / "coproprietaires" / "index.html").is_file()


def test_an_unknown_building_fails_before_anything_is_written(mailroom: Mailroom, tmp_path: Path) -> None:
    mailroom.building("tilleuls")

    with pytest.raises(TimelineLookupError, match="unknown building 'nulle-part'"):
        publish(mailroom, tmp_path / "site", buildings=["tilleuls", "nulle-part"])

    assert not (tmp_path / "site").exists()


def test_a_failed_write_leaves_the_previous_page_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "index.html"
    write_atomically(page, "ancienne version")

    def broken_replace(source: str, target: Path) -> None:
        raise OSError("disque plein")

    monkeypatch.setattr("dossiermail.publish.durable.os.replace", broken_replace)
    with pytest.raises(OSError, match="disque plein"):
        write_atomically(page, "nouvelle version")

    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]
    assert read(page) == "ancienne version"


# Helpers


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def written_files(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in written_files(out)}


def text_of(html: str) -> str:
    """The visible text of an HTML fragment, whitespace collapsed, entities decoded."""
    parser = Outline()
    parser.feed(html)
    return " ".join("".join(parser.text).split())


def index_text(site: Path) -> str:
    return text_of(read(syndic(site) / "index.html"))


class Outline(HTMLParser):
    """Collects a page's language, element names, heading levels, text and unclosed elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.tags: set[str] = set()
        self.headings: list[int] = []
        self.text: list[str] = []
        self.unclosed: list[str] = []

    @classmethod
    def of(cls, html: str) -> Outline:
        outline = cls()
        outline.feed(html)
        outline.close()
        return outline

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag not in VOID_ELEMENTS:
            self.unclosed.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.unclosed and self.unclosed[-1] == tag, f"</{tag}> closes {self.unclosed[-1:]}"
        self.unclosed.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)
