"""Specification of ``normalize_subject``: one conversation, one normalised subject."""

from __future__ import annotations

import pytest

from dossiermail.parse import normalize_subject


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("RE: Fuite d'eau", "fuite d eau"),
        ("Re : Fuite d'eau", "fuite d eau"),
        ("RE : TR: Fwd: Fuite d'eau", "fuite d eau"),
        ("TR : Devis ravalement", "devis ravalement"),
        ("Fw: Devis ravalement", "devis ravalement"),
        ("Réf : Appel de fonds T2", "appel de fonds t2"),
        ("AW: WG: Wartung Aufzug", "wartung aufzug"),
        ("Réponse automatique : Fuite d'eau", "fuite d eau"),
        ("Automatic reply: Fuite d'eau", "fuite d eau"),
        ("RE[2]: Fuite d'eau", "fuite d eau"),
    ],
)
def test_reply_and_forward_prefixes_are_removed_repeatedly(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


def test_tags_anywhere_are_removed() -> None:
    assert normalize_subject("[EXT] RE: [DDE-2026-014] Fuite [ticket #42]") == "fuite"


def test_prefix_behind_a_tag_is_removed() -> None:
    assert normalize_subject("[EXT] TR : RE: Ascenseur en panne") == "ascenseur en panne"


def test_accents_case_and_punctuation_are_folded() -> None:
    assert normalize_subject("Élagage — Bât. B / cœur d'îlot !!") == "elagage bat b coeur d ilot"


def test_whitespace_and_nbsp_are_collapsed() -> None:
    assert normalize_subject("RE\u00a0:   Assemblée\tgénérale  2026 ") == "assemblee generale 2026"


def test_words_that_merely_start_like_a_prefix_are_kept() -> None:
    assert normalize_subject("Travaux de toiture") == "travaux de toiture"
    assert normalize_subject("Réfection de la cage d'escalier") == "refection de la cage d escalier"


def test_empty_subject_stays_empty() -> None:
    assert normalize_subject("") == ""
    assert normalize_subject("RE: ") == ""
