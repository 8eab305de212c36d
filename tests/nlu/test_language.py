"""Guessing the language of a message from its function words."""

from __future__ import annotations

import pytest

from nlu.language import detect_language


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wie lange dauert die Lieferung? Ich habe meine Bestellung nicht bekommen", "de"),
        ("Hoe lang duurt de levering? Ik heb mijn bestelling niet ontvangen", "nl"),
        ("Je voudrais savoir où est ma commande, je ne l'ai pas reçue", "fr"),
        ("¿Dónde está mi pedido? No puedo encontrar el número de seguimiento", "es"),
        ("How long does the delivery take? I have not received my order", "en"),
    ],
)
def test_detects_the_language(text: str, language: str) -> None:
    assert detect_language(text, default="en" if language != "en" else "de") == language


@pytest.mark.parametrize("text", ["", "AF-123456", "xyzzy plugh", "12.50 €", "🙂👍"])
@pytest.mark.parametrize("default", ["en", "nl"])
def test_unknown_text_falls_back_to_the_default(text: str, default: str) -> None:
    assert detect_language(text, default) == default


def test_a_tie_goes_to_the_default() -> None:
    # "de" is a function word in Dutch, French and Spanish alike.
    assert detect_language("de", default="fr") == "fr"
    assert detect_language("de", default="es") == "es"


def test_case_does_not_matter() -> None:
    assert detect_language("WIE KANN ICH DAS BITTE ÄNDERN", default="en") == "de"
