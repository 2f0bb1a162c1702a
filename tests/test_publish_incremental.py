"""Publishing again rewrites only what changed; long dossiers are paginated; pieces; the audit trail."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from dossiermail.audience import SYNDIC, Audience, parse_audience
from dossiermail.parse import parse_message
from dossiermail.publish import PublishReport, publish_site, static_site
from dossiermail.publish.lots import set_dossier_lots
from dossiermail.rules import empty_rules
from dossiermail.rules.model import Contact
from dossiermail.store.corrections import Who, close_dossier, merge_dossiers, move
from dossiermail.store.models import DossierRow, PublicationRow
from tests.conftest_publish import Mail, Mailroom, open_mailroom

SHARED = ("conseil_syndical", "coproprietaires", "syndic")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, 1, hour, tzinfo=UTC) + timedelta(days=day - 1)


@pytest.fixture
def mailroom(tmp_path: Path) -> Iterator[Mailroom]:
    with open_mailroom(f"sqlite:///{tmp_path}/t.db") as room:
        yield room


def publish(mailroom: Mailroom, out: Path, audiences: Sequence[Audience] | None = None) -> PublishReport:
    return publish_site(mailroom.session, empty_rules(), out, audiences=audiences)


def inodes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_ino for p in out.rglob("*") if p.is_file()}


def test_one_new_message_rewrites_only_its_dossier_page_the_index_and_search_of_its_audiences(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    tilleuls = mailroom.building("tilleuls")
    leak = mailroom.dossier(tilleuls, "DDE-2026-014", "Fuite")
    works = mailroom.dossier(tilleuls, "TRV-2026-002", "Ravalement")
    accounts = mailroom.dossier(tilleuls, "CPT-2026-001", "Budget")
    roof = mailroom.dossier(mailroom.building("platanes"), "DDE-2026-001", "Toiture")
    for dossier in (leak, works, accounts, roof):
        mailroom.message(dossier, Mail(date=at(2)))
    out = tmp_path / "site"
    first = publish(mailroom, out)
    before = inodes(out)

    mailroom.message(leak, Mail(date=at(5), subject="Passage du plombier"))
    report = publish(mailroom, out)

    expected = sorted(
        f"tilleuls/{audience}/{name}"
        for audience in SHARED
        for name in ("dossiers/DDE-2026-014.html", "index.html", "search.jsonl")
    )
    assert sorted(report.written) == expected
    assert report.removed == ()
    assert report.unchanged == len(first.written) - len(expected)
    after = inodes(out)
    changed = sorted(name for name in after if after[name] != before.get(name))
    assert changed == [".manifest.json", *expected]
    assert "Passage du plombier" in (out / "tilleuls/coproprietaires/dossiers/DDE-2026-014.html").read_text()


def test_republishing_an_unchanged_store_writes_nothing(mailroom: Mailroom, tmp_path: Path) -> None:
    mailroom.message(mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014"), Mail(date=at(2)))
    first = publish(mailroom, tmp_path / "site")

    again = publish(mailroom, tmp_path / "site")

    assert again.written == ()
    assert again.unchanged == len(first.written)


def test_an_internal_message_only_rewrites_the_syndic_pages(mailroom: Mailroom, tmp_path: Path) -> None:
    leak = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(leak, Mail(date=at(2)))
    publish(mailroom, tmp_path / "site")

    mailroom.message(leak, Mail(date=at(3), subject="Note interne", visibility="internal"))
    report = publish(mailroom, tmp_path / "site")

    assert sorted(report.written) == [
        "tilleuls/syndic/dossiers/DDE-2026-014.html",
        "tilleuls/syndic/index.html",
        "tilleuls/syndic/search.jsonl",
    ]


def test_a_missing_file_is_written_again_even_if_the_manifest_knows_it(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    mailroom.message(mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014"), Mail(date=at(2)))
    publish(mailroom, tmp_path / "site")
    page = tmp_path / "site" / "tilleuls" / "syndic" / "dossiers" / "DDE-2026-014.html"
    page.unlink()

    report = publish(mailroom, tmp_path / "site")

    assert report.written == ("tilleuls/syndic/dossiers/DDE-2026-014.html",)
    assert page.is_file()


def test_a_dossier_leaving_an_audience_has_its_pages_removed(mailroom: Mailroom, tmp_path: Path) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(dossier, Mail(date=at(2)))
    out = tmp_path / "site"
    publish(mailroom, out)
    assert (out / "tilleuls/coproprietaires/dossiers/DDE-2026-014.html").is_file()

    dossier.category = "Comptabilité"
    mailroom.session.flush()
    report = publish(mailroom, out)

    assert report.removed == ("tilleuls/coproprietaires/dossiers/DDE-2026-014.html",)
    assert not (out / "tilleuls/coproprietaires/dossiers").exists()
    assert (out / "tilleuls/conseil_syndical/dossiers/DDE-2026-014.html").is_file()
    removed = {p.audience.name: p.pages_removed for p in report.publications}
    assert removed == {"syndic": 0, "conseil_syndical": 0, "coproprietaires": 1}


def test_publishing_one_audience_leaves_the_others_files_alone(mailroom: Mailroom, tmp_path: Path) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(dossier, Mail(date=at(2)))
    out = tmp_path / "site"
    publish(mailroom, out)
    before = inodes(out)
    mailroom.message(dossier, Mail(date=at(3), subject="Nouveau"))

    report = publish(mailroom, out, audiences=[SYNDIC])

    assert {p.audience for p in report.publications} == {SYNDIC}
    assert all(path.startswith("tilleuls/syndic/") for path in report.written)
    after = inodes(out)
    assert {n for n in after if after[n] != before[n]} == {*report.written, ".manifest.json"}
    assert "Nouveau" not in (out / "tilleuls/coproprietaires/search.jsonl").read_text()


def test_a_long_dossier_is_paginated_fifty_messages_a_page(mailroom: Mailroom, tmp_path: Path) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    for number in range(120):
        mailroom.message(dossier, Mail(date=at(1) + timedelta(minutes=number), subject=f"Relance {number}"))

    publish(mailroom, tmp_path / "site", audiences=[parse_audience("coproprietaires")])

    folder = tmp_path / "site" / "tilleuls" / "coproprietaires"
    pages = [
        folder / "dossiers" / name
        for name in ("DDE-2026-014.html", "DDE-2026-014-2.html", "DDE-2026-014-3.html")
    ]
    assert sorted(p.name for p in (folder / "dossiers").iterdir()) == sorted(p.name for p in pages)
    assert [page.read_text().count("<article ") for page in pages] == [50, 50, 20]
    first, middle, last = (page.read_text() for page in pages)
    assert 'href="DDE-2026-014-2.html" rel="next"' in first and 'rel="prev"' not in first
    assert 'href="DDE-2026-014.html" rel="prev"' in middle
    assert 'href="DDE-2026-014-3.html" rel="next"' in middle
    assert 'href="DDE-2026-014-2.html" rel="prev"' in last and 'rel="next"' not in last
    assert "Page 2 sur 3" in middle
    assert "Relance 0<" in first and "Relance 119<" in last
    records = [json.loads(line) for line in (folder / "search.jsonl").read_text().splitlines()]
    assert len(records) == 120
    for record in records:
        page, anchor = record["url"].split("#")
        assert f'id="{anchor}"' in (folder / page).read_text()
        assert record["dossier"] == "DDE-2026-014"
        assert record["title"] in record["text"]


def test_every_publication_is_audited(mailroom: Mailroom, tmp_path: Path) -> None:
    tilleuls = mailroom.building("tilleuls")
    mailroom.message(mailroom.dossier(tilleuls, "DDE-2026-014"), Mail(date=at(2)))
    mailroom.dossier(tilleuls, "CPT-2026-001")
    rules = empty_rules()

    report = publish_site(mailroom.session, rules, tmp_path / "site")
    publish_site(mailroom.session, rules, tmp_path / "site", audiences=[SYNDIC])

    rows = mailroom.session.scalars(select(PublicationRow).order_by(PublicationRow.id)).all()
    assert [(r.building, r.audience, r.dossiers) for r in rows] == [
        ("tilleuls", "syndic", ["CPT-2026-001", "DDE-2026-014"]),
        ("tilleuls", "conseil_syndical", ["CPT-2026-001", "DDE-2026-014"]),
        ("tilleuls", "coproprietaires", ["DDE-2026-014"]),
        ("tilleuls", "syndic", ["CPT-2026-001", "DDE-2026-014"]),
    ]
    assert {r.rules_version for r in rows} == {rules.version}
    assert [r.redactor_version for r in rows] == [
        "aucun",
        report.redactor_version,
        report.redactor_version,
        "aucun",
    ]
    assert re.fullmatch(r"[0-9a-f]{12}", report.redactor_version)
    assert [r.pages_written for r in rows] == [4, 4, 3, 0]
    assert all(r.published_at is not None for r in rows)


def _mail_with_pieces() -> bytes:
    message = EmailMessage()
    message["From"] = "Marc Durand <marc.durand@plomberie.example>"
    message["To"] = "gestion@syndic.example"
    message["Subject"] = "Devis et photos"
    message["Date"] = "Tue, 03 Mar 2026 10:00:00 +0100"
    message["Message-ID"] = "<pieces@example>"
    message.set_content("Voici le devis et une photo.")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="Devis 06 12 34 56 78.pdf")
    message.add_attachment(
        b"MZ\x90\x00", maintype="application", subtype="octet-stream", filename="outil.exe"
    )
    message.add_attachment(
        b"<html><script>x</script>", maintype="application", subtype="pdf", filename="faux.pdf"
    )
    message.add_attachment(PNG, maintype="image", subtype="png", filename="photo.png", cid="<photo1@example>")
    return message.as_bytes()


def test_allowed_pieces_are_copied_from_the_raw_message_and_the_others_listed_unpublished(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    raw = _mail_with_pieces()
    parsed = parse_message(raw, "pieces")
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(
        dossier,
        Mail(
            date=at(3),
            raw=raw,
            html='<p>Photo : <img src="cid:photo1@example" alt="fuite"> et <img src="https://tracker.example/p.gif"></p>',
            attachments=[(a.filename, a.content_type, a.size) for a in parsed.attachments],
            content_ids=[a.content_id for a in parsed.attachments],
        ),
    )

    report = publish(mailroom, tmp_path / "site")

    folder = tmp_path / "site" / "tilleuls" / "coproprietaires"
    pieces = sorted(p.relative_to(folder).as_posix() for p in (folder / "pieces").rglob("*") if p.is_file())
    names = {Path(p).name: p for p in pieces}
    assert sorted(names) == ["Devis_telephone_masque.pdf", "photo.png"]
    assert (folder / names["photo.png"]).read_bytes() == PNG
    assert (folder / names["Devis_telephone_masque.pdf"]).read_bytes() == PDF
    page = (folder / "dossiers" / "DDE-2026-014.html").read_text()
    assert f'src="../{names["photo.png"]}"' in page
    assert "tracker.example" not in page
    assert "1 image distante bloquée" in page
    assert 'outil.exe (4 octets, <span class="unpublished">non publiée</span>)' in page
    assert 'faux.pdf (24 octets, <span class="unpublished">non publiée</span>)' in page
    assert "06 12 34 56 78" not in page
    assert (
        "06 12 34 56 78"
        in (tmp_path / "site" / "tilleuls" / "syndic" / "dossiers" / "DDE-2026-014.html").read_text()
    )

    again = publish(mailroom, tmp_path / "site")
    assert again.written == ()
    assert len([p for p in report.written if "/pieces/" in p]) == 6


def test_changed_redaction_rules_rewrite_every_redacted_page(mailroom: Mailroom, tmp_path: Path) -> None:
    tilleuls = mailroom.building("tilleuls")
    for reference in ("DDE-2026-014", "TRV-2026-002"):
        mailroom.message(mailroom.dossier(tilleuls, reference), Mail(date=at(2), text="Signé Jean Dupont"))
    publish(mailroom, tmp_path / "site")
    stricter = empty_rules()
    stricter = replace(
        stricter, version="stricter", redaction=replace(stricter.redaction, people=("Jean Dupont",))
    )

    report = publish_site(mailroom.session, stricter, tmp_path / "site")

    pages = sorted(path for path in report.written if "/dossiers/" in path)
    assert pages == sorted(
        f"tilleuls/{audience}/dossiers/{reference}.html"
        for audience in SHARED
        for reference in ("DDE-2026-014", "TRV-2026-002")
        if audience != "syndic"
    )
    owners = (
        tmp_path / "site" / "tilleuls" / "coproprietaires" / "dossiers" / "DDE-2026-014.html"
    ).read_text()
    assert "Jean Dupont" not in owners
    assert "[nom masqué]" in owners


WHO = Who("gestionnaire", "test")


def pages(audiences: Sequence[str], *names: str) -> list[str]:
    return sorted(f"tilleuls/{audience}/{name}" for audience in audiences for name in names)


@pytest.fixture
def three(mailroom: Mailroom) -> tuple[DossierRow, DossierRow, DossierRow, str]:
    """Three dossiers of « tilleuls » with one message each; returns them and the first's message key."""
    tilleuls = mailroom.building("tilleuls")
    leak = mailroom.dossier(tilleuls, "DDE-2026-014", "Fuite")
    damp = mailroom.dossier(tilleuls, "DDE-2026-015", "Humidité")
    works = mailroom.dossier(tilleuls, "TRV-2026-002", "Ravalement")
    key = mailroom.message(leak, Mail(date=at(2), subject="Tache au plafond"))
    mailroom.message(damp, Mail(date=at(3), subject="Moisissures"))
    mailroom.message(works, Mail(date=at(4), subject="Échafaudage"))
    return leak, damp, works, key


def test_a_message_moved_to_another_dossier_rewrites_both(
    mailroom: Mailroom, tmp_path: Path, three: tuple[DossierRow, DossierRow, DossierRow, str]
) -> None:
    leak, damp, _, key = three
    out = tmp_path / "site"
    publish(mailroom, out)

    move(mailroom.session, key, damp, WHO)
    report = publish(mailroom, out)

    names = ("dossiers/DDE-2026-014.html", "dossiers/DDE-2026-015.html", "index.html", "search.jsonl")
    assert sorted(report.written) == pages(SHARED, *names)
    assert "Tache au plafond" in (out / "tilleuls/coproprietaires/dossiers/DDE-2026-015.html").read_text()
    assert "Tache au plafond" not in (out / "tilleuls/coproprietaires/dossiers/DDE-2026-014.html").read_text()
    assert leak.id != damp.id


def test_a_merge_rewrites_the_target_and_withdraws_the_merged_dossier(
    mailroom: Mailroom, tmp_path: Path, three: tuple[DossierRow, DossierRow, DossierRow, str]
) -> None:
    leak, damp, _, _ = three
    out = tmp_path / "site"
    publish(mailroom, out)

    merge_dossiers(mailroom.session, leak, damp, WHO)
    report = publish(mailroom, out)

    assert report.removed == tuple(
        pages(("conseil_syndical", "coproprietaires"), "dossiers/DDE-2026-014.html")
    )
    assert sorted(report.written) == sorted(
        [
            *pages(SHARED, "dossiers/DDE-2026-015.html", "index.html", "search.jsonl"),
            "tilleuls/syndic/dossiers/DDE-2026-014.html",
        ]
    )
    assert "Tache au plafond" in (out / "tilleuls/coproprietaires/dossiers/DDE-2026-015.html").read_text()


def test_closing_or_renaming_a_dossier_rewrites_its_pages_and_the_building_pages_only(
    mailroom: Mailroom, tmp_path: Path, three: tuple[DossierRow, DossierRow, DossierRow, str]
) -> None:
    leak, _, _, _ = three
    out = tmp_path / "site"
    publish(mailroom, out)

    close_dossier(mailroom.session, leak, WHO)
    closed = publish(mailroom, out)
    leak.title = "Fuite réparée"
    mailroom.session.flush()
    renamed = publish(mailroom, out)

    expected = pages(SHARED, "dossiers/DDE-2026-014.html", "index.html")
    assert sorted(closed.written) == expected
    assert sorted(renamed.written) == expected
    for audience in SHARED:
        assert "Fuite réparée" in (out / f"tilleuls/{audience}/index.html").read_text()
        assert "Fuite réparée" in (out / f"tilleuls/{audience}/dossiers/DDE-2026-014.html").read_text()


def test_changed_lots_publish_and_withdraw_the_lot_audiences(
    mailroom: Mailroom, tmp_path: Path, three: tuple[DossierRow, DossierRow, DossierRow, str]
) -> None:
    leak, _, _, _ = three
    out = tmp_path / "site"
    publish(mailroom, out)

    set_dossier_lots(mailroom.session, leak, [12], WHO)
    added = publish(mailroom, out)
    set_dossier_lots(mailroom.session, leak, [13], WHO)
    moved = publish(mailroom, out)

    lot12 = pages(("lot-12",), "dossiers/DDE-2026-014.html", "index.html", "search.jsonl")
    assert sorted(p for p in added.written if "/lot-" in p) == lot12
    assert not any("DDE-2026-015" in p or "TRV-2026-002" in p for p in (*added.written, *moved.written))
    assert sorted(moved.removed) == lot12
    assert (out / "tilleuls/lot-13/dossiers/DDE-2026-014.html").is_file()
    assert not (out / "tilleuls/lot-12").exists()


def test_lots_of_participants_are_remembered_for_unchanged_dossiers(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    tilleuls = mailroom.building("tilleuls")
    mailroom.contact("lea.martin@example.fr", "Léa Martin", "coproprietaire", ["tilleuls"], [7])
    leak = mailroom.dossier(tilleuls, "DDE-2026-014", "Fuite")
    works = mailroom.dossier(tilleuls, "TRV-2026-002", "Ravalement")
    mailroom.message(leak, Mail(date=at(2), from_name="Léa Martin", from_email="lea.martin@example.fr"))
    mailroom.message(works, Mail(date=at(2)))
    out = tmp_path / "site"
    lea = Contact("lea.martin@example.fr", "Léa Martin", "coproprietaire", ("tilleuls",), (7,))
    rules = replace(empty_rules(), contacts=(lea,))
    publish_site(mailroom.session, rules, out)
    assert (out / "tilleuls/lot-7/dossiers/DDE-2026-014.html").is_file()

    mailroom.message(works, Mail(date=at(5), subject="Planning"))
    report = publish_site(mailroom.session, rules, out)

    assert report.removed == ()
    assert not any(p.startswith("tilleuls/lot-7/") for p in report.written)
    assert (out / "tilleuls/lot-7/dossiers/DDE-2026-014.html").is_file()


def _age(out: Path, path: str) -> None:
    """Make ``path`` look like a page an older publisher wrote (the manifest agrees with the disk)."""
    old = "<p>page d'une version précédente</p>\n"
    (out / path).write_text(old)
    manifest = json.loads((out / ".manifest.json").read_text())
    manifest["files"][path] = hashlib.sha256(old.encode()).hexdigest()
    (out / ".manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("change", ["rules", "code", "contacts"])
def test_a_new_rules_code_or_address_book_version_renders_every_dossier_again(
    mailroom: Mailroom,
    tmp_path: Path,
    three: tuple[DossierRow, DossierRow, DossierRow, str],
    change: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "site"
    rules = empty_rules()
    publish_site(mailroom.session, rules, out)
    every = pages(SHARED, *(f"dossiers/{r}.html" for r in ("DDE-2026-014", "DDE-2026-015", "TRV-2026-002")))
    for path in every:
        _age(out, path)
    assert publish_site(mailroom.session, rules, out).written == ()

    if change == "rules":
        rules = replace(rules, version="autre")
    elif change == "code":  # stands for an edited template, stylesheet or publishing module
        monkeypatch.setattr(static_site, "code_fingerprint", lambda: "autre-version")
    else:
        mailroom.contact("quelquun@example.org", "Quelqu'un", "prestataire")
    report = publish_site(mailroom.session, rules, out)

    assert sorted(report.written) == every
    assert all("page d'une version précédente" not in (out / path).read_text() for path in every)
