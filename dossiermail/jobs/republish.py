"""The publish step's one entry point: bring the extranet of one dossier up to date.

It republishes the whole building, every audience, with ``publish_site``, which is incremental:
only dossiers whose data changed are loaded and rendered again. Route steps therefore ask for one
publish step per building (``dossier`` empty); steps named ``building/REF`` by older versions
republish the same building.
"""

from __future__ import annotations

from pathlib import Path

from dossiermail.rules.model import Rules
from dossiermail.store import Store


def republish(store: Store, rules: Rules, site_dir: Path, building: str, dossier: str) -> None:
    """Republish what shows ``building`` (and so ``dossier``, if given) under ``site_dir`` (idempotent)."""
    from dossiermail.publish import publish_site

    del dossier  # the static export rewrites the building's pages (only files that changed)
    publish_site(store, rules, site_dir, buildings=[building])
