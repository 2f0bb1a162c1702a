"""The admin's YAML rules (buildings, contacts, routing, redaction): loading and validation.

``load_rules(Path("rules"))`` returns the frozen ``Rules`` the stages read, or raises ``RulesError``
whose problems read ``rules/contacts.yaml:14: unknown building 'les-tilleuls' (known: ...)``.
"""

from __future__ import annotations

from dossiermail.rules.loader import RULE_FILES, check_rules, empty_rules, load_rules
from dossiermail.rules.model import (
    Building,
    Contact,
    RedactionPattern,
    RedactionRules,
    RoutingRules,
    Rules,
)
from dossiermail.rules.problems import RuleProblem, RulesError
from dossiermail.rules.schema import BUILTIN_REDACTIONS, KNOWN_ROUTING_STEPS

__all__ = [
    "BUILTIN_REDACTIONS",
    "KNOWN_ROUTING_STEPS",
    "RULE_FILES",
    "Building",
    "Contact",
    "RedactionPattern",
    "RedactionRules",
    "RoutingRules",
    "RuleProblem",
    "Rules",
    "RulesError",
    "check_rules",
    "empty_rules",
    "load_rules",
]
