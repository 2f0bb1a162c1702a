"""Publishing: the French extranet pages built from dossier timelines, per building and audience.

``publish_site`` renders every audience's pages (redacted for all but the syndic), writes only what
changed since the last publication and records an audit row per (building, audience).
"""

from dossiermail.publish.static_site import Publication, PublishError, PublishReport, publish_site

__all__ = ["Publication", "PublishError", "PublishReport", "publish_site"]
