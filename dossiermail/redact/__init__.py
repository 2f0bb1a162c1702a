"""Redaction at publish time: what the extranet hides of a message, and how it says so.

``redactor_for(rules.redaction)`` gives a ``Redactor``; ``Redactor.text`` masks any free text
(body, subject, display name, attachment name, HTML text node or attribute) with French
placeholders such as « [téléphone masqué] »; ``Redactor.hits`` lists what it would mask and
``Redactor.version`` goes into each publication's audit record. Built-ins: French phone numbers,
IBAN (mod-97), BIC (near "BIC"/"SWIFT"), email addresses, NIR; plus the admin's named regexes
and people from ``rules/redaction.yaml``. Stored mail is never modified.
"""

from dossiermail.redact.engine import ENGINE_VERSION, Redactor, redaction_version, redactor_for
from dossiermail.redact.hits import PLACEHOLDERS, Hit

__all__ = ["ENGINE_VERSION", "PLACEHOLDERS", "Hit", "Redactor", "redaction_version", "redactor_for"]
