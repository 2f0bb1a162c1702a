"""Dossier timelines: the messages of a dossier in order, and each building's list of dossiers.

Reads the store; returns frozen dataclasses that ``dossiermail.publish`` renders.
"""

from dossiermail.timeline.build import (
    build_timeline,
    building_overview,
    building_slugs,
    building_timelines,
    dossier_heads,
)
from dossiermail.timeline.labels import ROLE_LABELS, STATUS_LABELS, role_label, status_label
from dossiermail.timeline.model import (
    BuildingOverview,
    DossierHead,
    DossierSummary,
    Timeline,
    TimelineAttachment,
    TimelineEntry,
    TimelineLookupError,
)

__all__ = [
    "ROLE_LABELS",
    "STATUS_LABELS",
    "BuildingOverview",
    "DossierHead",
    "DossierSummary",
    "Timeline",
    "TimelineAttachment",
    "TimelineEntry",
    "TimelineLookupError",
    "build_timeline",
    "building_overview",
    "building_slugs",
    "building_timelines",
    "dossier_heads",
    "role_label",
    "status_label",
]
