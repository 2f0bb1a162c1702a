"""Audience names: the four kinds, their path slugs, and one-line errors for anything else."""

from __future__ import annotations

import pytest

from dossiermail.audience import Audience, AudienceError, parse_audience


@pytest.mark.parametrize(
    ("text", "name", "slug"),
    [
        ("syndic", "syndic", "syndic"),
        ("conseil_syndical", "conseil_syndical", "conseil_syndical"),
        ("conseil-syndical", "conseil_syndical", "conseil_syndical"),
        ("coproprietaires", "coproprietaires", "coproprietaires"),
        ("lot:12", "lot:12", "lot-12"),
        ("lot-7", "lot:7", "lot-7"),
    ],
)
def test_parse_round_trips(text: str, name: str, slug: str) -> None:
    audience = parse_audience(text)
    assert (audience.name, audience.slug) == (name, slug)
    assert parse_audience(audience.slug) == audience


@pytest.mark.parametrize("text", ["", "owners", "lot:", "lot:0", "lot:x", "lot:12/../syndic", "SYNDIC"])
def test_unknown_audiences_are_refused_with_the_value(text: str) -> None:
    with pytest.raises(AudienceError, match="unknown audience"):
        parse_audience(text)


def test_lot_number_only_with_lot_kind() -> None:
    with pytest.raises(AudienceError):
        Audience("syndic", 3)
    with pytest.raises(AudienceError):
        Audience("lot")
