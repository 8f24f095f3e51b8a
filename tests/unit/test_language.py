"""guess_language: the stop-word scorer picks the main European languages and abstains when unsure."""

from __future__ import annotations

import pytest

from outreach.language import guess_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hello, I have a problem with my order and would like a refund, please.", "en"),
        ("Hallo, ich habe meine Bestellung noch nicht erhalten. Können Sie mir bitte helfen?", "de"),
        ("Bonjour, je ne peux pas me connecter à mon compte depuis hier, merci de votre aide.", "fr"),
        ("Hola, no puedo acceder a mi cuenta desde ayer, gracias por su ayuda.", "es"),
        ("Hallo, ik heb een probleem met mijn bestelling, kunnen jullie mij helpen?", "nl"),
        ("Buongiorno, ho un problema con il mio ordine, grazie per l'aiuto.", "it"),
        ("Olá, não consigo acessar a minha conta, obrigado pela ajuda.", "pt"),
    ],
)
def test_guesses_the_language(text: str, lang: str) -> None:
    assert guess_language(text) == lang


@pytest.mark.parametrize("text", ["", "ok", "12345 67890", "👍👍", "asdf qwer zxcv"])
def test_abstains_without_evidence(text: str) -> None:
    assert guess_language(text) is None


def test_reads_only_the_start_of_long_text() -> None:
    # 2,350 characters of German, then a megabyte of English that is never read.
    text = "Ich habe eine Frage zu meiner Rechnung, bitte. " * 50 + "the and is are was " * 50_000
    assert guess_language(text) == "de"
