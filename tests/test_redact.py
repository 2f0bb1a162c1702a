"""The publish-time redactor: canaries in every writing are masked, ordinary numbers survive."""

from __future__ import annotations

import random
import re

import pytest

from dossiermail.redact import PLACEHOLDERS, Hit, Redactor, redactor_for
from dossiermail.redact.banking import iban_is_valid
from dossiermail.rules.model import RedactionPattern, RedactionRules
from tests.privacy_canaries import CANARIES, Canary, leaks

LETTERS = str.maketrans({chr(code): str(code - 55) for code in range(ord("A"), ord("Z") + 1)})

DEFAULT = redactor_for(RedactionRules())
CONTEXTS = ("{}", "Tél. : {}.", "Mon numéro ({}) et c'est tout", "{}\n", "« {} »", "collé{}collé")

WRITINGS = [(canary, writing) for canary in CANARIES for writing in canary.writings]


def kinds(redactor: Redactor, text: str) -> list[str]:
    return [hit.kind for hit in redactor.hits(text)]


@pytest.mark.parametrize(("canary", "writing"), WRITINGS, ids=[f"{c.kind}:{w!r}" for c, w in WRITINGS])
def test_every_canary_writing_is_masked_in_every_context(canary: Canary, writing: str) -> None:
    for context in CONTEXTS:
        if canary.kind == "bic" and context.startswith("collé"):
            continue  # a BIC glued to letters is a word, not a code
        text = context.format(writing)
        assert leaks(text, (canary,)), "the canary must be visible before redaction"

        redacted = DEFAULT.text(text)

        assert not leaks(redacted, (canary,)), f"{text!r} -> {redacted!r}"
        assert PLACEHOLDERS[canary.kind] in redacted


POSITIVES = [
    ("06 12 34 56 78", "phone"),
    ("06.12.34.56.78", "phone"),
    ("06-12-34-56-78", "phone"),
    ("0612345678", "phone"),
    ("+33 6 12 34 56 78", "phone"),
    ("+33 (0)6 12 34 56 78", "phone"),
    ("+33 (0) 6 12 34 56 78", "phone"),
    ("0033 6 12 34 56 78", "phone"),
    ("+33612345678", "phone"),
    ("01 42 68 53 00", "phone"),
    ("05 56 00 11 22", "phone"),
    ("09 72 10 10 10", "phone"),
    ("0 800 123 456", "phone"),
    ("06. 12. 34. 56. 78", "phone"),
    ("06.12 34.56 78", "phone"),
    ("+33) 6 12 34 56 78", "phone"),
    ("06\u00a012\u00a034\u00a056\u00a078", "phone"),
    ("06\u202f12\u202f34\u202f56\u202f78", "phone"),
    ("06\u200b12\u200b34\u200b56\u200b78", "phone"),
    ("06 12 34\n56 78", "phone"),
    ("06\u201112\u201134\u201156\u201178", "phone"),
    ("06–12–34–56–78", "phone"),
    ("+32 470 12 34 56", "phone"),
    ("+41 79 123 45 67", "phone"),
    ("FR76 3000 6000 0112 3456 7890 189", "iban"),
    ("FR7630006000011234567890189", "iban"),
    ("DE89 3704 0044 0532 0130 00", "iban"),
    ("GB82 WEST 1234 5698 7654 32", "iban"),
    ("CH93 0076 2011 6238 5295 7", "iban"),
    ("FR76\u20113000\u20116000\u20110112\u20113456\u20117890\u2011189", "iban"),
    ("AGRIFRPP882", "bic"),
    ("BNPAFRPPXXX", "bic"),
    ("jean.dupont@exemple.fr", "email"),
    ("mailto:jean.dupont@exemple.fr", "email"),
    ("Jean.Dupont+syndic@Exemple.FR", "email"),
    ("jean [at] exemple.fr", "email"),
    ("jean (at) exemple (dot) fr", "email"),
    ("jean arobase exemple.fr", "email"),
    ("jean.dupont @ exemple.fr", "email"),
    ("jean{at}exemple{point}fr", "email"),
    ("jean [  AT  ] exemple [ dot ] fr", "email"),
    ("jean%40exemple.fr", "email"),
    ("élodie@société.fr", "email"),
    ("gardien@localhost", "email"),
    ("1 84 12 76 451 089 46", "nir"),
    ("184127645108946", "nir"),
    ("1 84 12 76 451 089", "nir"),
    ("1-84-12-76-451-089-46", "nir"),
    ("2 55 08 2A 004 012 83", "nir"),
]


@pytest.mark.parametrize(("text", "kind"), POSITIVES)
def test_known_writings_are_found_whole(text: str, kind: str) -> None:
    prefix = "Coordonnées (tél., mail, BIC…) : "
    hits = DEFAULT.hits(f"{prefix}{text} merci")

    assert [(hit.kind, hit.start, hit.end) for hit in hits] == [(kind, len(prefix), len(prefix) + len(text))]
    assert DEFAULT.text(f"{prefix}{text} merci") == f"{prefix}{PLACEHOLDERS[kind]} merci"


NEGATIVES = [
    "Réunion le 12/03/2026 à 10:30",
    "le 01.02.2026 12:30",
    "Montant : 1 234,56 € TTC (12 345,67 € HT)",
    "Facture FAC-2026-0012 du 3 mars",
    "Lot 12, lots 40 et 41, tantièmes 125/10000",
    "12 avenue des Fleurs, 06000 Nice",
    "45 boulevard du Mont-Boron, 06300 Nice",
    "[DDE-2026-014] Fuite au plafond",
    "Re: [TRV-2026-00123] Ravalement",
    "SIRET 123 456 789 00012",
    "Devis n° 2026-03-0451 valable 30 jours",
    "RIB joint. BIC : voir le document. MERCI",
    "VIREMENT EFFECTUE AUPRES DE LA BANQUE",
    "FR76 3000 6000 0112 3456 7890 188",  # wrong check digits
    "FR00 1234 5678 9012 3456 7890 123",
    "1 84 12 76 451 089 47",  # wrong NIR key
    "Code postal 75011, tél. à venir, version 2.0.1",
    "Le 3 mars 2026 à 10:12, Claire Martin a écrit :",
    "Référence colis 06 12 34",
    "Total 0,00 € ; 100 000 € ; +15 000 €",
    "Vote : 4 567 / 10 000 tantièmes",
    "https://example.org/page?id=42&lang=fr",
    "user at home dot com",
    "Rendez-vous demain @ 10h, salle B",
    "Versions 1.2.3 et 01.02.2026 12:30",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_text_survives(text: str) -> None:
    assert DEFAULT.hits(text) == ()
    assert DEFAULT.text(text) == text


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("RIB_FR7630006000011234567890189.pdf", "RIB_[IBAN masqué].pdf"),
        ("Contact_0612345678.pdf", "Contact_[téléphone masqué].pdf"),
        ("attestation_184127645108946.pdf", "attestation_[n° de sécurité sociale masqué].pdf"),
        ("de jean.dupont@exemple.fr.pdf", "de [adresse mail masquée].pdf"),
        ("Devis FAC-2026-0012 du 12-03-2026.pdf", "Devis FAC-2026-0012 du 12-03-2026.pdf"),
    ],
)
def test_attachment_names_are_masked_around_underscores_and_extensions(filename: str, expected: str) -> None:
    assert DEFAULT.text(filename) == expected


def test_placeholders_name_the_kind_never_the_content() -> None:
    text = "Appelez Mme X au 06 12 34 56 78, IBAN FR76 3000 6000 0112 3456 7890 189, BIC AGRIFRPP"

    assert DEFAULT.text(text) == "Appelez Mme X au [téléphone masqué], IBAN [IBAN masqué], BIC [BIC masqué]"


def test_bic_needs_bic_or_swift_nearby() -> None:
    assert DEFAULT.text("la société AGRIFRPP nous écrit") == "la société AGRIFRPP nous écrit"
    assert DEFAULT.text("notre BIC est AGRIFRPP") == "notre BIC est [BIC masqué]"
    assert DEFAULT.text("AGRIFRPP (code SWIFT)") == "[BIC masqué] (code SWIFT)"
    assert DEFAULT.text("BIC : ABCDZZPP") == "BIC : ABCDZZPP", "ZZ is no country"


def test_iban_is_checked_with_mod_97() -> None:
    assert iban_is_valid("FR7630006000011234567890189")
    assert not iban_is_valid("FR7630006000011234567890188")
    assert not iban_is_valid("FR763000600001123456789018"), "one character short"
    assert not iban_is_valid("QQ7630006000011234567890189"), "unknown country"


def test_iban_followed_by_bic_words_is_cut_at_its_length() -> None:
    text = "IBAN FR76 3000 6000 0112 3456 7890 189 BIC AGRIFRPP888 merci"

    assert DEFAULT.text(text) == "IBAN [IBAN masqué] BIC [BIC masqué] merci"


def test_two_ibans_in_a_row_are_both_masked() -> None:
    text = "FR76 3000 6000 0112 3456 7890 189 DE89 3704 0044 0532 0130 00"

    assert kinds(DEFAULT, text) == ["iban", "iban"]


PEOPLE = redactor_for(RedactionRules(people=("Élodie Martin", "Jean-Pierre Dupont")))


@pytest.mark.parametrize(
    "text",
    [
        "Élodie Martin",
        "ÉLODIE MARTIN",
        "elodie martin",
        "Elodie  Martin",
        "Martin Élodie",
        "MARTIN, Élodie",
        "E\u0301lodie Martin",  # decomposed accent
        "Élodie\u00a0Martin",
        "Jean-Pierre Dupont",
        "jean pierre dupont",
        "DUPONT Jean-Pierre",
    ],
)
def test_people_are_found_whatever_accents_case_and_order(text: str) -> None:
    redacted = PEOPLE.text(f"Bonjour {text}, merci.")

    assert redacted == "Bonjour [nom masqué], merci."


def test_people_are_found_in_file_names() -> None:
    assert PEOPLE.text("RIB_Martin_Elodie.pdf") == "RIB_[nom masqué].pdf"
    assert PEOPLE.text("RIB-ÉLODIE-MARTIN.pdf") == "RIB-[nom masqué].pdf"


@pytest.mark.parametrize("text", ["Élodie Martinez", "Martine Élodie", "Élodie", "Saint-Martin", "Dupont"])
def test_people_match_whole_names_only(text: str) -> None:
    assert PEOPLE.text(text) == text


def test_person_hit_spans_the_original_characters() -> None:
    text = "Œuvre de l'ÉLODIE MARTIN ici"

    (hit,) = PEOPLE.hits(text)

    assert text[hit.start : hit.end] == "ÉLODIE MARTIN"


def test_admin_patterns_are_named_in_their_placeholder() -> None:
    rules = RedactionRules(
        builtin=(),
        patterns=(RedactionPattern("code-porte", re.compile(r"code (?:porte|portail) ?:? ?\d{4}")),),
    )
    redactor = redactor_for(rules)

    assert redactor.text("Le code porte : 4589.") == "Le [masqué : code-porte]."
    assert redactor.hits("code portail 1234") == (Hit("pattern", "code-porte", 0, 17),)


def test_empty_matches_of_an_admin_pattern_are_ignored() -> None:
    redactor = redactor_for(RedactionRules(builtin=(), patterns=(RedactionPattern("x", re.compile(r"x*")),)))

    assert redactor.text("abc xx d") == "abc [masqué : x] d"


def test_switched_off_builtins_are_not_applied() -> None:
    only_email = redactor_for(RedactionRules(builtin=("email",)))

    text = "06 12 34 56 78 jean@exemple.fr"
    assert only_email.text(text) == "06 12 34 56 78 [adresse mail masquée]"
    assert redactor_for(RedactionRules(builtin=())).text(text) == text


def test_overlapping_finds_are_merged_so_nothing_survives() -> None:
    rules = RedactionRules(
        people=("Jean Dupont",), patterns=(RedactionPattern("p", re.compile(r"Dupont \d+")),)
    )
    redactor = redactor_for(rules)

    assert redactor.text("Jean Dupont 42 ici") == "[nom masqué] ici"
    assert DEFAULT.text("mailto:jean.dupont@exemple.fr?subject=06 12 34 56 78") == (
        "[adresse mail masquée]?subject=[téléphone masqué]"
    )


def test_redaction_is_idempotent_on_canaries() -> None:
    text = " ; ".join(writing for canary in CANARIES for writing in canary.writings)

    once = DEFAULT.text(text)

    assert DEFAULT.text(once) == once
    assert leaks(once) == []


def test_version_is_stable_and_follows_the_rules() -> None:
    assert redactor_for(RedactionRules()).version == DEFAULT.version
    assert re.fullmatch(r"[0-9a-f]{12}", DEFAULT.version)
    others = {
        redactor_for(RedactionRules(builtin=("phone",))).version,
        PEOPLE.version,
        redactor_for(RedactionRules(patterns=(RedactionPattern("p", re.compile("x+")),))).version,
        redactor_for(RedactionRules(patterns=(RedactionPattern("p", re.compile("x+", re.I)),))).version,
    }
    assert DEFAULT.version not in others
    assert len(others) == 4


def test_random_separators_and_surroundings_never_let_a_phone_through() -> None:
    rng = random.Random(20260312)
    separators = [" ", ".", "-", "\u00a0", "\u202f", "\u2009", ""]
    for _ in range(500):
        digits = "0" + str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(8))
        separator = rng.choice(separators)
        written = separator.join(digits[i : i + 2] for i in range(0, 10, 2))
        before = rng.choice(["", "Tél ", "tel:", "(", "au ", "Portable : ", "\n"])
        after = rng.choice(["", ".", ")", " merci", ",", "\n", "!"])

        redacted = DEFAULT.text(before + written + after)

        assert digits[1:] not in re.sub(r"\D", "", redacted), (before + written + after, redacted)


def _grouped(rng: random.Random, compact: str) -> str:
    style = rng.choice(["compact", "groups", "nbsp", "lower"])
    if style == "compact":
        return compact
    if style == "lower":
        return compact.lower()
    separator = " " if style == "groups" else "\u00a0"
    return separator.join(compact[i : i + 4] for i in range(0, len(compact), 4))


def test_random_ibans_are_masked_only_with_the_right_check_digits() -> None:
    rng = random.Random(97)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(300):
        country, length = rng.choice([("FR", 27), ("DE", 22), ("BE", 16), ("ES", 24), ("IT", 27), ("GB", 22)])
        bban = "".join(rng.choice(alphabet if i > 6 else "0123456789") for i in range(length - 4))
        right = 98 - int((bban + country + "00").translate(LETTERS)) % 97
        wrong = (right - 2 + rng.randint(1, 96)) % 97 + 2  # any other check value in 2..98

        good = DEFAULT.text(f"IBAN : {_grouped(rng, f'{country}{right:02d}{bban}')}.")
        bad = DEFAULT.hits(f"IBAN : {_grouped(rng, f'{country}{wrong:02d}{bban}')}.")

        assert good == "IBAN : [IBAN masqué].", bban
        assert "iban" not in [hit.kind for hit in bad], bban


def test_random_nirs_are_masked_only_with_the_right_key() -> None:
    rng = random.Random(13)
    for _ in range(300):
        dept = rng.choice([f"{rng.randint(1, 95):02d}", "2A", "2B"])
        birth = f"{rng.randint(1, 2)}{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}"
        body = f"{birth}{dept}{rng.randint(0, 999_999):06d}"
        numeric = body.replace("2A", "19").replace("2B", "18") if dept in {"2A", "2B"} else body
        key = 97 - int(numeric) % 97
        spaced = rng.choice([True, False])
        written = (
            f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:]}" if spaced else body
        )

        assert DEFAULT.text(f"NIR {written} {key:02d}") == "NIR [n° de sécurité sociale masqué]"
        assert "nir" not in kinds(DEFAULT, f"NIR {written} {(key % 97) + 1:02d}")


HOSTILE = [
    "0" * 1_000_000,
    "06 " * 333_333,
    "a" * 1_000_000,
    "a." * 500_000,
    "a@" * 500_000,
    "a@b" + ".c" * 499_998,
    "x [at] " * 140_000,
    "FR76 " * 200_000,
    "BIC AGRIFRPP " * 76_000,
    "+33 " * 250_000,
    "1 84 12 " * 125_000,
    "Élodie " * 140_000,
    "\u00a0" * 1_000_000,
    "".join(chr(0x20 + (i * 7919) % 0x3000) for i in range(1_000_000)),
]


@pytest.mark.parametrize("text", HOSTILE, ids=[f"hostile-{i}" for i in range(len(HOSTILE))])
def test_a_megabyte_of_hostile_text_completes(text: str) -> None:
    redacted = PEOPLE.text(text)

    assert isinstance(redacted, str)


def test_runs_find_a_number_split_across_html_nodes() -> None:
    pieces = ["Tél. 06 12", " 34 56", " 78 ou ", "jean@", "exemple.fr", " merci"]

    redacted = DEFAULT.runs(pieces)

    assert redacted == ("Tél. [téléphone masqué]", "", " ou ", "[adresse mail masquée]", "", " merci")
    assert DEFAULT.runs(["06 12", "34 56 78"]) == ("[téléphone masqué]", "")
    assert DEFAULT.runs(["sans rien", ""]) == ("sans rien", "")
    assert DEFAULT.runs(["06 12 34 56 78"]) == (DEFAULT.text("06 12 34 56 78"),)
