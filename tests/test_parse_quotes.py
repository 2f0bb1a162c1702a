"""Specification of the quote/signature splitter on French syndic mail."""

from __future__ import annotations

from dossiermail.parse.quotes import split_text


def test_gmail_french_attribution_starts_the_quoted_history() -> None:
    text = (
        "Bonjour,\nLe plombier passe jeudi.\n\n"
        "Le lun. 3 mars 2026 à 10:12, Jean Dupont <jean@example.fr> a écrit :\n"
        "> Avez-vous des nouvelles ?\n"
    )
    split = split_text(text)
    assert split.new_text == "Bonjour,\nLe plombier passe jeudi."
    assert split.quoted_text.startswith("Le lun. 3 mars 2026")
    assert "> Avez-vous des nouvelles ?" in split.quoted_text


def test_attribution_wrapped_over_two_lines_is_recognised() -> None:
    text = "D'accord.\n\nLe lun. 3 mars 2026 à 10:12, Jean Dupont <\njean@example.fr> a écrit :\n> Question\n"
    split = split_text(text)
    assert split.new_text == "D'accord."
    assert split.quoted_text.splitlines()[1] == "jean@example.fr> a écrit :"


def test_english_on_wrote_attribution_is_recognised() -> None:
    text = "Fine.\n\nOn Mon, Mar 3, 2026 at 10:12 AM Jean <jean@example.fr> wrote:\n> Hello\n"
    assert split_text(text).new_text == "Fine."


def test_apple_attribution_without_quote_marks_takes_the_rest() -> None:
    text = "Merci.\n\nLe 3 mars 2026 à 10:12, Jean <jean@example.fr> a écrit :\n\nTexte cité\n"
    split = split_text(text)
    assert split.new_text == "Merci."
    assert split.quoted_text.endswith("Texte cité")


def test_outlook_fr_quoted_block_is_split_from_new_text() -> None:
    text = (
        "Bonjour Madame,\nLe devis est joint.\n\n"
        "________________________________\n"
        "De : Marie Lefèvre <marie@example.fr>\n"
        "Envoyé : lundi 3 mars 2026 10:12\n"
        "À : Syndic <gestion@syndic.example>\n"
        "Objet : Fuite d'eau\n\nAncien message\n"
    )
    split = split_text(text)
    assert split.new_text == "Bonjour Madame,\nLe devis est joint."
    assert split.quoted_text.startswith("________")
    assert split.quoted_text.endswith("Ancien message")


def test_outlook_header_block_without_space_before_colon_is_recognised() -> None:
    text = (
        "Vu.\n\nDe: Marie <marie@example.fr>\nEnvoyé: lundi 3 mars 2026 10:12\n"
        "À: Syndic\nObjet: Fuite\n\nAncien"
    )
    assert split_text(text).new_text == "Vu."


def test_outlook_english_header_block_is_recognised() -> None:
    text = "OK.\n\nFrom: Marie\nSent: Monday, March 3, 2026 10:12 AM\nTo: Syndic\nSubject: Leak\n"
    split = split_text(text)
    assert split.new_text == "OK."
    assert split.quoted_text.startswith("From: Marie")


def test_a_single_de_line_in_the_text_is_not_a_header_block() -> None:
    text = "Horaires du gardien\nDe : 8h à 12h\nLe samedi : fermé\n"
    split = split_text(text)
    assert split.quoted_text == ""
    assert "De : 8h à 12h" in split.new_text


def test_message_d_origine_separator_starts_the_history() -> None:
    text = "Je transmets.\n\n-----Message d'origine-----\nDe : X\nBlabla"
    split = split_text(text)
    assert split.new_text == "Je transmets."
    assert split.quoted_text.startswith("-----Message d'origine-----")


def test_original_message_separator_starts_the_history() -> None:
    split = split_text("Noted.\n-----Original Message-----\nFrom: X\n")
    assert split.new_text == "Noted."


def test_forward_keeps_the_forwarded_message_whole_in_quoted_text() -> None:
    forwarded = (
        "---------- Forwarded message ---------\nDe : Ascenseurs Martin <sav@martin.example>\n"
        "Date: lun. 3 mars 2026 à 09:00\nSubject: Panne ascenseur bât. B\nTo: <syndic@ex.fr>\n\n"
        "L'ascenseur sera réparé vendredi."
    )
    split = split_text("Pour info.\n\n" + forwarded)
    assert split.new_text == "Pour info."
    assert split.quoted_text == forwarded


def test_french_forward_markers_start_the_history() -> None:
    for marker in ("-------- Message transféré --------", "Début du message réexpédié :"):
        split = split_text(f"À traiter.\n\n{marker}\nDe: a@b.fr\nObjet: x\n\nCorps")
        assert split.new_text == "À traiter.", marker
        assert split.quoted_text.endswith("Corps"), marker


def test_pure_forward_has_no_new_text() -> None:
    split = split_text("-------- Message transféré --------\nSujet : Devis\n\nLe devis.")
    assert split.new_text == ""
    assert split.quoted_text.endswith("Le devis.")


def test_bottom_posted_reply_keeps_the_text_after_the_quote() -> None:
    text = (
        "Le 3 mars 2026 à 10:12, Jean <jean@example.fr> a écrit :\n"
        "> Le portail est cassé.\n\n"
        "Le serrurier passe demain.\n"
    )
    split = split_text(text)
    assert split.new_text == "Le serrurier passe demain."
    assert split.quoted_text == (
        "Le 3 mars 2026 à 10:12, Jean <jean@example.fr> a écrit :\n> Le portail est cassé."
    )


def test_interleaved_answers_stay_in_new_text() -> None:
    text = "> Question 1 ?\nRéponse 1.\n> Question 2 ?\nRéponse 2.\n"
    split = split_text(text)
    assert split.new_text == "Réponse 1.\nRéponse 2."
    assert split.quoted_text == "> Question 1 ?\n> Question 2 ?"


def test_dash_dash_space_line_starts_the_signature() -> None:
    split = split_text("Cordialement,\n-- \nMarie Lefèvre\nSyndic Dupont\n")
    assert split.new_text == "Cordialement,"
    assert split.signature == "--\nMarie Lefèvre\nSyndic Dupont"


def test_mobile_signatures_are_signatures() -> None:
    for line in ("Envoyé de mon iPhone", "Envoyé depuis mon mobile", "Sent from my Galaxy"):
        split = split_text(f"D'accord pour jeudi.\n\n{line}\n")
        assert split.new_text == "D'accord pour jeudi.", line
        assert split.signature == line


def test_signature_is_taken_from_new_text_only() -> None:
    text = "Merci.\nEnvoyé de mon iPhone\n\nLe 3 mars 2026, Jean a écrit :\n> -- \n> Jean\n"
    split = split_text(text)
    assert split.signature == "Envoyé de mon iPhone"
    assert split.quoted_text.endswith("> Jean")


def test_text_without_quotes_is_all_new() -> None:
    split = split_text("Bonjour,\r\nMerci de votre retour.\r\n")
    assert split == split.__class__("Bonjour,\nMerci de votre retour.", "", "")
