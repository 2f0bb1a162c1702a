"""``dossiermail publish --out DIR``: the static extranet, one folder per building."""

from __future__ import annotations

from pathlib import Path

from dossiermail.commands.common import CliError, open_store_or_fail, out


def publish_command(out_dir: Path, buildings: list[str] | None, db: str | None) -> None:
    """Write every (or the named) building's pages and say where to look."""
    from dossiermail.publish import publish_static
    from dossiermail.timeline import building_slugs

    store = open_store_or_fail(db)
    try:
        with store.sessions() as session:
            known = building_slugs(session)
            unknown = sorted(set(buildings or ()) - set(known))
            if unknown:
                raise CliError(f"unknown building {unknown[0]!r} (known: {', '.join(known) or 'none'})")
            report = publish_static(session, out_dir, buildings=buildings)
    finally:
        store.dispose()
    out.print(f"{report.pages_written} page(s) écrites dans {report.out_dir}/", markup=False)
    for page in report.index_pages:
        out.print(f"  {page}", markup=False)
