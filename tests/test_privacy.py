"""No canary (phone, IBAN, BIC, email, NIR) leaves the syndic audience, whatever the placement or encoding.

The canary mails of ``tests/privacy_canaries.py`` are imported with the example rules like any
archive, published for every audience, and every non-syndic page, search index and piece name is
searched for every canary in every writing (separators ignored, entities decoded).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from dossiermail.ingest.importer import ImportOptions, run_import
from dossiermail.jobs.pipeline import RouteOptions
from dossiermail.publish import PublishReport, publish_site
from dossiermail.rules import load_rules
from dossiermail.store import Store
from tests.conftest import RULES
from tests.privacy_canaries import CANARIES, canary_mails, canary_openers, leaks


@pytest.fixture
def published(store: Store, tmp_path: Path) -> tuple[Path, PublishReport]:
    rules = load_rules(RULES)
    archive = tmp_path / "archive"
    archive.mkdir()
    for building, raw in canary_openers(rules).items():
        (archive / f"000-{building}.eml").write_bytes(raw)
    for mail in canary_mails(rules):
        (archive / f"{mail.name}.eml").write_bytes(mail.raw)
    summary = run_import(store, [archive], ImportOptions(RouteOptions(rules)))
    assert summary.as_dict()["assigned"] == len(list(archive.iterdir())), summary.as_dict()
    out = tmp_path / "site"
    return out, publish_site(store, rules, out)


def shown_text(path: Path) -> str:
    """A file's text as a reader (or a search box) gets it: raw and with entities decoded."""
    content = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        content += "\n".join(
            json.dumps(json.loads(line), ensure_ascii=False) for line in content.splitlines()
        )
    return f"{content}\n{html.unescape(content)}"


def test_no_canary_reaches_any_audience_but_the_syndic(published: tuple[Path, PublishReport]) -> None:
    out, _ = published
    checked = 0
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out)
        if len(relative.parts) < 3 or relative.parts[1] == "syndic":
            continue
        found = leaks(relative.as_posix())
        if path.suffix in {".html", ".jsonl"}:
            found += leaks(shown_text(path))
            checked += 1
        assert found == [], f"{relative}: {[canary.value for canary in found]}"
    assert checked >= 3 * (2 + 1)


def test_the_canary_dossiers_are_published_in_full_to_the_co_owners(
    published: tuple[Path, PublishReport],
) -> None:
    out, report = published
    owners = {p.building: p for p in report.publications if p.audience.name == "coproprietaires"}
    assert len(owners) == 3
    for building, publication in owners.items():
        reference = next(ref for ref in publication.dossiers if ref.startswith("DDE-2026-9"))
        page = (out / building / "coproprietaires" / "dossiers" / f"{reference}.html").read_text()
        assert page.count("<article ") >= 20
        assert "[téléphone masqué]" in page
        assert "[IBAN masqué]" in page
        assert "Message précédent" in page


def test_the_syndic_reads_the_canaries_unmasked(published: tuple[Path, PublishReport]) -> None:
    out, _ = published
    syndic = "\n".join(shown_text(p) for p in out.glob("*/syndic/dossiers/*.html"))

    found = {canary.kind for canary in leaks(syndic)}

    assert found == {canary.kind for canary in CANARIES}
