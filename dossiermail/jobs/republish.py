"""The publish step's one entry point: bring the extranet of one dossier up to date.

Today it republishes the dossier's whole building, every audience, with ``publish_site``; a
per-dossier publisher can replace the body of :func:`republish` without changing its callers.
"""

from __future__ import annotations

from pathlib import Path

from dossiermail.rules.model import Rules
from dossiermail.store import Store


def republish(store: Store, rules: Rules, site_dir: Path, building: str, dossier: str) -> None:
    """Republish what shows ``dossier`` of ``building`` under ``site_dir`` (idempotent)."""
    from dossiermail.publish import publish_site

    del dossier  # the static export rewrites the building's pages (only files that changed)
    publish_site(store, rules, site_dir, buildings=[building])
