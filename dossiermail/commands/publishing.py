"""``dossiermail publish --out DIR [--audience A]... [--building B]...``: the static extranet.

One folder per building and audience; only the pages whose content changed are rewritten. Ends
with one summary line per building and the building pages to open.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dossiermail.commands.common import CliError, load_rules_or_fail, open_store_or_fail, out

if TYPE_CHECKING:
    from dossiermail.publish import PublishReport
    from dossiermail.store import Store


def publish_command(
    out_dir: Path,
    buildings: list[str] | None,
    audiences: list[str] | None,
    rules_dir: Path | None,
    db: str | None,
) -> None:
    """Publish, then say what was written per building and where to look."""
    from dossiermail.audience import AudienceError, parse_audience
    from dossiermail.publish import PublishError, publish_site

    try:
        chosen = [parse_audience(name) for name in audiences] if audiences else None
    except AudienceError as exc:
        raise CliError(str(exc)) from None
    store = open_store_or_fail(db)
    try:
        _check_buildings(store, buildings)
        rules = load_rules_or_fail(rules_dir)
        report = publish_site(store, rules, out_dir, buildings=buildings, audiences=chosen)
    except PublishError as exc:
        raise CliError(str(exc)) from None
    finally:
        store.dispose()
    for line in summary_lines(report):
        out.print(line, markup=False)


def _check_buildings(store: Store, buildings: list[str] | None) -> None:
    """Unknown buildings are refused (before the rules are even read)."""
    from dossiermail.timeline import building_slugs

    with store.session() as session:
        known = building_slugs(session)
    unknown = [slug for slug in buildings or () if slug not in known]
    if unknown:
        raise CliError(f"unknown building {unknown[0]!r} (known: {', '.join(known) or 'none'})")


def summary_lines(report: PublishReport) -> Sequence[str]:
    """One line per building (audiences, dossiers, pages), totals, then each audience's index page."""
    lines = []
    for building in report.buildings:
        mine = [p for p in report.publications if p.building == building]
        audiences = ", ".join(f"{p.audience.name} {len(p.dossiers)}" for p in mine)
        written = sum(p.pages_written for p in mine)
        removed = sum(p.pages_removed for p in mine)
        lines.append(
            f"{building} : dossiers publiés par audience — {audiences or 'aucune audience'} ; "
            f"{written} fichier(s) écrit(s), {removed} supprimé(s)"
        )
    lines.append(
        f"{report.pages_written} fichier(s) écrit(s), {report.unchanged} inchangé(s), "
        f"{len(report.removed)} supprimé(s) dans {report.out_dir}/ "
        f"(règles {report.rules_version}, masquage {report.redactor_version})"
    )
    lines.extend(f"  {page}" for page in report.index_pages)
    return lines
