"""Pydantic models of the four rule files: their shape and the checks on single values.

One ``*File`` model per file; ``extra="forbid"`` turns a typo into "unknown key" and ``strict``
refuses YAML's guesses (``name: yes`` is a boolean, not text). Checks that compare entries or files
(duplicates, unknown buildings) live in ``dossiermail.rules.checks``.
"""

from __future__ import annotations

import re
import string
from typing import Annotated, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, field_validator

from dossiermail.domain import ROLES, Role
from dossiermail.rules.model import (
    DEFAULT_AUDIENCE_CATEGORIES,
    DEFAULT_CATEGORY_PREFIXES,
    DEFAULT_REFERENCE_PATTERN,
    DEFAULT_ROUTING_STEPS,
    DOSSIER_CATEGORIES,
    RoutingThresholds,
    VisibilityRules,
)

KNOWN_ROUTING_STEPS: tuple[str, ...] = DEFAULT_ROUTING_STEPS
"""Every collector in ``dossiermail.threading.collectors.COLLECTORS`` (a test keeps them equal)."""
BUILTIN_REDACTIONS: tuple[str, ...] = ("phone", "iban", "bic", "email", "nir")

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_DOMAIN_LABEL = re.compile(r"[^.\s@]+")
_PREFIX = re.compile(r"[A-Z][A-Z0-9]{0,9}")
_EMPTY_MATCH_PROBE = string.printable + "Élodie Martin, 06 12 34 56 78 à 10:30 ; œ€ \u00a0"
"""Text on which a redaction regex must not match zero characters anywhere."""


def shown(value: object) -> str:
    """A YAML value as the admin wrote it, short enough for a one-line message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    text = f"'{value}'" if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {shown(value)} (put it in quotes)")
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _slug(value: object) -> str:
    if not isinstance(value, str) or not _SLUG.fullmatch(value):
        raise ValueError(
            f"invalid slug {shown(value)}: use lower-case letters, digits and hyphens (e.g. les-mimosas)"
        )
    return value


def _email(value: object) -> str:
    if not isinstance(value, str) or not _is_email(value):
        raise ValueError(
            f"invalid email address {shown(value)}: expected one address like name@cabinet.example.fr"
        )
    return value.lower()


def _is_email(value: str) -> bool:
    """A sane address: one ``@``, no spaces, something before it and a dotted domain after it."""
    local, at, domain = value.partition("@")
    if not at or not local or any(char.isspace() for char in value) or "@" in domain:
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)


def _role(value: object) -> Role:
    if value not in ROLES:
        raise ValueError(f"unknown role {shown(value)} (known: {', '.join(ROLES)})")
    return value


def _lot(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"invalid lot {shown(value)}: expected a whole number from 1 up")
    return value


def _prefix(value: object) -> str:
    if not isinstance(value, str) or not _PREFIX.fullmatch(value):
        raise ValueError(
            f"invalid reference prefix {shown(value)}: expected capital letters, e.g. DDE for DDE-2026-014"
        )
    return value


def _regex(value: object) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a regular expression in quotes, got {shown(value)}")
    try:
        return re.compile(value)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        raise ValueError(f"invalid regular expression {shown(value)}: {error.msg}{where}") from None


def _known(names: tuple[str, ...], what: str) -> PlainValidator:
    def check(value: object) -> str:
        if value not in names:
            raise ValueError(f"unknown {what} {shown(value)} (known: {', '.join(names)})")
        return value

    return PlainValidator(check)


Text = Annotated[str, PlainValidator(_text)]
Slug = Annotated[str, PlainValidator(_slug)]
Email = Annotated[str, PlainValidator(_email)]
RoleName = Annotated[Role, PlainValidator(_role)]
Lot = Annotated[int, PlainValidator(_lot)]
Regex = Annotated[re.Pattern[str], PlainValidator(_regex)]
StepName = Annotated[str, _known(KNOWN_ROUTING_STEPS, "routing step")]
BuiltinName = Annotated[str, _known(BUILTIN_REDACTIONS, "built-in redaction")]
CategoryName = Annotated[str, _known(DOSSIER_CATEGORIES, "dossier category")]
Prefix = Annotated[str, PlainValidator(_prefix)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class BuildingEntry(_Strict):
    """One item of ``buildings:`` in buildings.yaml."""

    slug: Slug
    name: Text
    address: Text
    addresses: list[Email] = []


class BuildingsFile(_Strict):
    """buildings.yaml."""

    dossier_address: Email | None = None
    buildings: list[BuildingEntry] = []


class ContactEntry(_Strict):
    """One item of ``contacts:`` in contacts.yaml; building slugs are checked against buildings."""

    email: Email
    name: Text
    role: RoleName
    buildings: list[Text] = []
    lots: list[Lot] = []


class ContactsFile(_Strict):
    """contacts.yaml."""

    contacts: list[ContactEntry] = []


Score = Annotated[float, Field(ge=0.0, le=1.0)]
"""A score or similarity between 0 and 1."""


class ThresholdsEntry(_Strict):
    """``thresholds:`` in routing.yaml (defaults: ``RoutingThresholds``)."""

    accept_score: Annotated[float, Field(gt=0.0, le=1.0)] = RoutingThresholds.accept_score
    fuzzy_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = RoutingThresholds.fuzzy_ratio
    fuzzy_window_days: Annotated[int, Field(ge=1, le=3650)] = RoutingThresholds.fuzzy_window_days
    address_book_score: Score = RoutingThresholds.address_book_score
    quoted_header_score: Score = RoutingThresholds.quoted_header_score
    quoted_window_hours: Annotated[int, Field(ge=0, le=72)] = RoutingThresholds.quoted_window_hours
    burst_minutes: Annotated[int, Field(ge=0, le=1440)] = RoutingThresholds.burst_minutes
    burst_score: Score = RoutingThresholds.burst_score

    def model(self) -> RoutingThresholds:
        """The validated thresholds as the routing model reads them."""
        return RoutingThresholds(**self.model_dump())


class VisibilityEntry(_Strict):
    """``visibility:`` in routing.yaml (defaults: ``VisibilityRules``)."""

    internal_subject_tags: list[Text] = list(VisibilityRules.internal_subject_tags)
    internal_alias: Annotated[str, Field(pattern=r"^[a-z0-9-]*$", max_length=32)] = (
        VisibilityRules.internal_alias
    )
    internal_forwards: bool = VisibilityRules.internal_forwards

    def model(self) -> VisibilityRules:
        """The validated visibility rules as the routing model reads them."""
        return VisibilityRules(tuple(self.internal_subject_tags), self.internal_alias, self.internal_forwards)


class RoutingFile(_Strict):
    """routing.yaml."""

    reference_pattern: Regex = re.compile(DEFAULT_REFERENCE_PATTERN)
    steps: list[StepName] = list(DEFAULT_ROUTING_STEPS)
    thresholds: ThresholdsEntry = ThresholdsEntry()
    visibility: VisibilityEntry = VisibilityEntry()

    @field_validator("reference_pattern")
    @classmethod
    def _has_ref_group(cls, pattern: re.Pattern[str]) -> re.Pattern[str]:
        if "ref" not in pattern.groupindex:
            raise ValueError(
                "reference_pattern has no group named 'ref': "
                r"wrap the reference in (?P<ref>...), e.g. '\[(?P<ref>[A-Z]+-\d+)\]'"
            )
        return pattern

    @field_validator("steps")
    @classmethod
    def _not_empty(cls, steps: list[str]) -> list[str]:
        if not steps:
            raise ValueError(f"steps is empty: list at least one of {', '.join(KNOWN_ROUTING_STEPS)}")
        return steps


class RedactionPatternEntry(_Strict):
    """One item of ``patterns:`` in redaction.yaml."""

    name: Text
    regex: Regex

    @field_validator("regex")
    @classmethod
    def _not_empty_match(cls, pattern: re.Pattern[str]) -> re.Pattern[str]:
        probes = ("", _EMPTY_MATCH_PROBE)
        if any(match.end() == match.start() for probe in probes for match in pattern.finditer(probe)):
            raise ValueError(
                f"regular expression {shown(pattern.pattern)} can match empty text: "
                "it must always match at least one character (use + rather than *)"
            )
        return pattern


def _default_audience(kind: str) -> list[str]:
    return next(list(a.categories) for a in DEFAULT_AUDIENCE_CATEGORIES if a.audience == kind)


class AudiencesEntry(_Strict):
    """``audiences:`` in redaction.yaml: the categories each audience kind sees (syndic sees all)."""

    conseil_syndical: list[CategoryName] = _default_audience("conseil_syndical")
    coproprietaires: list[CategoryName] = _default_audience("coproprietaires")
    lot: list[CategoryName] = _default_audience("lot")


class RedactionFile(_Strict):
    """redaction.yaml: what the extranet masks, how dossiers are filed, which audience sees what."""

    builtin: list[BuiltinName] = list(BUILTIN_REDACTIONS)
    patterns: list[RedactionPatternEntry] = []
    people: list[Text] = []
    categories: dict[CategoryName, list[Prefix]] = {
        c.category: list(c.prefixes) for c in DEFAULT_CATEGORY_PREFIXES
    }
    audiences: AudiencesEntry = AudiencesEntry()

    @field_validator("categories")
    @classmethod
    def _prefix_in_one_category(cls, categories: dict[str, list[str]]) -> dict[str, list[str]]:
        seen: dict[str, str] = {}
        for category, prefixes in categories.items():
            for prefix in prefixes:
                if seen.setdefault(prefix, category) != category:
                    raise ValueError(
                        f"prefix '{prefix}' is listed under both {seen[prefix]} and {category}: keep one"
                    )
        return categories


def allowed_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[str, ...]:
    """The keys the mapping at ``loc`` accepts, walking down from a file model (``()`` if unknown)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return ()
        if isinstance(part, str):
            field = current.model_fields.get(part)
            current = _nested_model(field.annotation) if field is not None else None
    return tuple(current.model_fields) if current is not None else ()


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        found = _nested_model(argument)
        if found is not None:
            return found
    return None
