"""Publishing: the French extranet pages built from dossier timelines.

Foundation version: a static export per building (``publish_static``) with every email address
masked. Per-audience redaction and the read-only server come on top of it.
"""

from dossiermail.publish.static_site import PublishReport, publish_static

__all__ = ["PublishReport", "publish_static"]
