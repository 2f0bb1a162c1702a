"""Who sees which dossier and message: categories, audiences, lots, internal mail, buildings apart."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dossiermail.audience import COPROPRIETAIRES, SYNDIC, Audience
from dossiermail.publish import PublishError, publish_site
from dossiermail.publish.audiences import AudiencePolicy
from dossiermail.rules import check_rules, empty_rules, load_rules
from dossiermail.rules.model import Contact, Rules
from dossiermail.timeline import building_timelines
from tests.conftest import RULES
from tests.conftest_publish import Mail, Mailroom, open_mailroom
from tests.test_cli import assert_one_line_error, run

MARCH = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
OWNER_12 = Contact("nathalie.petit@example.org", "Nathalie Petit", "coproprietaire", ("tilleuls",), (12,))
OWNER_17 = Contact("helene.giraud@example.net", "Hélène Giraud", "coproprietaire", ("tilleuls",), (17,))
ELSEWHERE = Contact("paul@example.net", "Paul", "coproprietaire", ("platanes",), (40,))


@pytest.fixture
def mailroom(tmp_path: Path) -> Iterator[Mailroom]:
    with open_mailroom(f"sqlite:///{tmp_path}/t.db") as room:
        yield room


def rules_with(*contacts: Contact) -> Rules:
    return Rules(directory="", version="test", contacts=contacts)


def files_of(site: Path, building: str, audience: str) -> str:
    """Every page and the search index of one audience, concatenated."""
    folder = site / building / audience
    return "\n".join(p.read_text() for p in sorted(folder.rglob("*")) if p.suffix in {".html", ".jsonl"})


@pytest.mark.parametrize(
    ("reference", "category", "expected"),
    [
        ("DDE-2026-014", None, "Sinistres"),
        ("SIN-2026-001", None, "Sinistres"),
        ("TRV-2026-007", None, "Travaux"),
        ("TX-2026-001", None, "Travaux"),
        ("AG-2026-001", None, "AG"),
        ("CTR-2026-002", None, "Contrats"),
        ("CPT-2026-003", None, "Comptabilité"),
        ("FAC-2026-004", None, "Comptabilité"),
        ("ASC-2026-003", None, "Autres"),
        ("QUAL-2026-001", None, "Autres"),
        ("DDE-2026-014", "comptabilite", "Comptabilité"),
        ("DDE-2026-014", "Travaux", "Travaux"),
        ("DDE-2026-014", "n'importe quoi", "Sinistres"),
    ],
)
def test_a_dossiers_category_comes_from_its_own_or_its_reference_prefix(
    reference: str, category: str | None, expected: str
) -> None:
    assert AudiencePolicy.from_rules(empty_rules()).category(reference, category) == expected


def test_each_audience_sees_the_categories_redaction_yaml_gives_it(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    tilleuls = mailroom.building("tilleuls")
    for reference in (
        "AG-2026-001",
        "TRV-2026-002",
        "DDE-2026-003",
        "CTR-2026-004",
        "CPT-2026-005",
        "ASC-2026-006",
    ):
        mailroom.message(mailroom.dossier(tilleuls, reference, f"Dossier {reference}"), Mail(date=MARCH))
    mailroom.dossier(tilleuls, "QUAL-2026-001", "Conversation à qualifier", status="a_qualifier")

    report = publish_site(mailroom.session, empty_rules(), tmp_path / "site")

    seen = {p.audience.name: set(p.dossiers) for p in report.publications}
    everything = {
        "AG-2026-001",
        "TRV-2026-002",
        "DDE-2026-003",
        "CTR-2026-004",
        "CPT-2026-005",
        "ASC-2026-006",
    }
    assert seen["syndic"] == everything | {"QUAL-2026-001"}
    assert seen["conseil_syndical"] == everything
    assert seen["coproprietaires"] == {"AG-2026-001", "TRV-2026-002", "DDE-2026-003", "CTR-2026-004"}
    owners = files_of(tmp_path / "site", "tilleuls", "coproprietaires")
    assert "CPT-2026-005" not in owners
    assert "ASC-2026-006" not in owners
    assert "QUAL-2026-001" not in owners
    index = (tmp_path / "site" / "tilleuls" / "coproprietaires" / "index.html").read_text()
    headings = [line for line in index.splitlines() if line.startswith("<h2")]
    assert [h.split(">")[1].split("<")[0] for h in headings] == ["AG", "Travaux", "Sinistres", "Contrats"]


def test_internal_messages_never_leave_the_syndic_audience(mailroom: Mailroom, tmp_path: Path) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014", "Fuite")
    mailroom.message(dossier, Mail(date=MARCH, subject="Déclaration de sinistre"))
    later = datetime(2026, 3, 9, 9, 0, tzinfo=UTC)
    mailroom.message(
        dossier,
        Mail(
            date=later, subject="Avis du gestionnaire", text="Propriétaire procédurier", visibility="internal"
        ),
    )

    publish_site(mailroom.session, rules_with(OWNER_12), tmp_path / "site")

    for audience in ("conseil_syndical", "coproprietaires"):
        shown = files_of(tmp_path / "site", "tilleuls", audience)
        assert "Déclaration de sinistre" in shown
        assert "Avis du gestionnaire" not in shown
        assert "procédurier" not in shown
        assert "9 mars" not in shown, "the internal message's date leaks through last activity"
        assert "Messages&nbsp;:</dt> <dd>1</dd>" in shown
    syndic = files_of(tmp_path / "site", "tilleuls", "syndic")
    assert "Avis du gestionnaire" in syndic
    assert '<span class="internal">Interne</span>' in syndic


def test_a_lot_sees_the_dossiers_its_owner_took_part_in_or_an_admin_tied_to_it(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    tilleuls = mailroom.building("tilleuls")
    leak = mailroom.dossier(tilleuls, "DDE-2026-014", "Fuite chez Mme Petit")
    mailroom.message(leak, Mail(date=MARCH, from_email=OWNER_12.email))
    copied = mailroom.dossier(tilleuls, "DDE-2026-015", "Fuite en copie")
    mailroom.message(copied, Mail(date=MARCH, from_email="plombier@example.com", to=[OWNER_17.email.upper()]))
    works = mailroom.dossier(tilleuls, "TRV-2026-002", "Balcon du lot 17")
    mailroom.message(works, Mail(date=MARCH, from_email=OWNER_12.email))
    mailroom.lots(works, 17)
    mailroom.dossier(tilleuls, "AG-2026-001", "Assemblée générale")

    report = publish_site(mailroom.session, rules_with(OWNER_12, OWNER_17, ELSEWHERE), tmp_path / "site")

    seen = {p.audience.name: p.dossiers for p in report.publications}
    assert list(seen) == ["syndic", "conseil_syndical", "coproprietaires", "lot:12", "lot:17"]
    assert seen["lot:12"] == ("DDE-2026-014",)
    assert seen["lot:17"] == ("DDE-2026-015", "TRV-2026-002")
    assert not (tmp_path / "site" / "tilleuls" / "lot-40").exists()
    lot_12 = files_of(tmp_path / "site", "tilleuls", "lot-12")
    assert "Balcon du lot 17" not in lot_12
    assert "Fuite en copie" not in lot_12
    assert "Lot 12" in lot_12


def test_an_audience_of_an_unknown_lot_is_refused_before_anything_is_written(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    mailroom.building("tilleuls")

    with pytest.raises(PublishError, match="lot 99 is not known in tilleuls"):
        publish_site(
            mailroom.session, rules_with(OWNER_12), tmp_path / "site", audiences=[Audience("lot", 99)]
        )

    assert not (tmp_path / "site").exists()


def test_another_buildings_dossiers_never_appear_in_any_audience(mailroom: Mailroom, tmp_path: Path) -> None:
    tilleuls = mailroom.building("tilleuls", "Les Tilleuls")
    platanes = mailroom.building("platanes", "Les Platanes")
    mailroom.message(mailroom.dossier(tilleuls, "DDE-2026-014", "Fuite Tilleuls"), Mail(date=MARCH))
    secret = mailroom.dossier(platanes, "DDE-2026-099", "Toiture Platanes")
    # a co-owner of both buildings wrote in the Platanes dossier: lot 12 exists in both folders
    mailroom.message(secret, Mail(date=MARCH, from_email=OWNER_12.email, subject="Tuiles cassées"))
    both = Contact(OWNER_12.email, OWNER_12.name, "coproprietaire", ("tilleuls", "platanes"), (12,))

    publish_site(mailroom.session, rules_with(both), tmp_path / "site")

    for folder in (tmp_path / "site" / "tilleuls").iterdir():
        shown = files_of(tmp_path / "site", "tilleuls", folder.name)
        for leak in ("DDE-2026-099", "Toiture Platanes", "Tuiles cassées", "Les Platanes"):
            assert leak not in shown, (folder.name, leak)
    assert "Tuiles cassées" in files_of(tmp_path / "site", "platanes", "lot-12")


def test_the_search_index_holds_one_redacted_record_per_visible_message(
    mailroom: Mailroom, tmp_path: Path
) -> None:
    dossier = mailroom.dossier(mailroom.building("tilleuls"), "DDE-2026-014")
    mailroom.message(dossier, Mail(date=MARCH, subject="Fuite", text="Appelez-moi au 06 12 34 56 78."))
    mailroom.message(dossier, Mail(date=MARCH, subject="Interne", visibility="internal"))

    publish_site(mailroom.session, empty_rules(), tmp_path / "site", audiences=[SYNDIC, COPROPRIETAIRES])

    lines = (tmp_path / "site" / "tilleuls" / "coproprietaires" / "search.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 1
    record = records[0]
    assert set(record) == {"dossier", "title", "date", "url", "text"}
    assert record["dossier"] == "DDE-2026-014"
    assert record["title"] == "Fuite"
    assert record["date"] == "2026-03-03T09:00:00+00:00"
    assert record["url"].startswith("dossiers/DDE-2026-014.html#m-")
    assert record["text"] == "Fuite\nAppelez-moi au [téléphone masqué]."
    syndic = (tmp_path / "site" / "tilleuls" / "syndic" / "search.jsonl").read_text()
    assert len(syndic.splitlines()) == 2
    assert "06 12 34 56 78" in syndic


def test_redaction_yaml_categories_and_audiences_are_loaded(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "redaction.yaml").write_text(
        textwrap.dedent(
            """\
            categories:
              Sinistres: [DDE]
              Contrats: [ASC]
            audiences:
              coproprietaires: [Sinistres]
            """
        ),
        encoding="utf-8",
    )

    policy = AudiencePolicy.from_rules(load_rules(rules_dir))

    assert policy.category("ASC-2026-003", None) == "Contrats"
    assert policy.category("TRV-2026-003", None) == "Autres"
    assert policy.categories["coproprietaires"] == {"Sinistres"}
    assert "Comptabilité" in policy.categories["conseil_syndical"]


def test_bad_categories_and_audiences_are_reported_with_file_and_line(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "redaction.yaml").write_text(
        textwrap.dedent(
            """\
            builtin: [phone]
            categories:
              Divers: [DIV]
              Travaux: [trv]
            audiences:
              syndic: [AG]
              lot: [Sinistres, Piscine]
            """
        ),
        encoding="utf-8",
    )

    problems = [str(problem) for problem in check_rules(rules_dir)]

    where = f"{rules_dir / 'redaction.yaml'}"
    assert any(p.startswith(f"{where}:3:") and "unknown dossier category 'Divers'" in p for p in problems)
    assert any(p.startswith(f"{where}:4:") and "invalid reference prefix 'trv'" in p for p in problems)
    assert any(p.startswith(f"{where}:6:") and "unknown key 'syndic'" in p for p in problems)
    assert any(p.startswith(f"{where}:7:") and "unknown dossier category 'Piscine'" in p for p in problems)


def test_a_prefix_in_two_categories_is_refused(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "redaction.yaml").write_text(
        "categories:\n  Sinistres: [DDE]\n  Travaux: [TRV, DDE]\n", encoding="utf-8"
    )

    problems = [str(problem) for problem in check_rules(rules_dir)]

    assert len(problems) == 1
    assert ":1:" in problems[0] and "prefix 'DDE' is listed under both Sinistres and Travaux" in problems[0]


def test_the_example_rules_publish_lot_audiences_of_their_co_owners(mailroom: Mailroom) -> None:
    rules = load_rules(RULES)
    mailroom.building("les-mimosas")

    timelines = building_timelines(mailroom.session, "les-mimosas")
    audiences = AudiencePolicy.from_rules(rules).audiences("les-mimosas", timelines)

    assert [a.name for a in audiences][:3] == ["syndic", "conseil_syndical", "coproprietaires"]
    assert {"lot:3", "lot:9", "lot:12", "lot:17", "lot:21"} <= {a.name for a in audiences}


def test_dossier_lots_are_set_from_the_command_line_and_publish_uses_them(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cli.db"
    rules = ("--rules", str(RULES))
    with open_mailroom(db) as room:
        room.building("les-mimosas")
        room.session.commit()

    opened = run(
        "dossier", "open", "les-mimosas", "TRV-2026-010", "Balcon", "--lot", "12", *rules, cwd=tmp_path, db=db
    )
    shown = run("dossier", "lots", "les-mimosas/TRV-2026-010", cwd=tmp_path, db=db)
    changed = run("dossier", "lots", "les-mimosas/TRV-2026-010", "17", "21", cwd=tmp_path, db=db)
    published = run("publish", "--out", str(tmp_path / "site"), *rules, cwd=tmp_path, db=db)
    unknown = run("publish", "--out", "x", "--audience", "lot:999", *rules, cwd=tmp_path, db=db)
    bad = run("publish", "--out", "x", "--audience", "voisins", *rules, cwd=tmp_path, db=db)

    assert opened.returncode == 0, opened.stderr
    assert "les-mimosas/TRV-2026-010: 12" in shown.stdout
    assert "lots of les-mimosas/TRV-2026-010 set to 17, 21" in changed.stdout
    assert published.returncode == 0, published.stderr
    assert "les-mimosas : dossiers publiés par audience" in published.stdout
    assert "lot:17 1" in published.stdout and "lot:12 0" in published.stdout
    assert (tmp_path / "site" / "les-mimosas" / "lot-21" / "dossiers" / "TRV-2026-010.html").is_file()
    assert_one_line_error(unknown, "lot 999 is not known in")
    assert_one_line_error(bad, "unknown audience 'voisins'")
    assert not (tmp_path / "x").exists()
    history = run("dossier", "history", "les-mimosas/TRV-2026-010", "--json", cwd=tmp_path, db=db)
    actions = [json.loads(line)["action"] for line in history.stdout.splitlines()]
    assert actions.count("lots") == 2
