"""A cheap guess of a text's language from its most common short words.

Good enough to pick a template language (templates ship English and
German) and to tell the main European languages of a support inbox apart;
it is not a general language identifier. It reads at most the first
``_MAX_CHARS`` characters, so it costs a few microseconds per message.
"""

from __future__ import annotations

import re

__all__ = ["LANGUAGES", "guess_language"]

_MAX_CHARS = 2000
_MIN_HITS = 2

# Frequent function words, chosen to be distinctive: words shared by two
# languages (e.g. "in", "is", "die" in en/nl/de) are kept only where they
# are much more frequent, or left out.
_STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are was were you your have has had this that with for not but "
        "what which would could should will can please thanks thank my me it's i'm "
        "don't from been there their they we our any about just".split()
    ),
    "de": frozenset(
        "der die das und ist sind nicht ich sie wir ein eine einen mit auf für "
        "auch noch bitte danke vielen dank haben habe hat wird werden kann können "
        "mein meine ihr ihre ihnen sehr wie aber oder wenn dass mir mich uns "
        "schon jetzt leider gerne grüße".split()
    ),
    "fr": frozenset(
        "le la les et est sont pas je vous nous une des du au aux avec pour dans "
        "sur mais ou que qui ce cette mon ma mes votre vos merci bonjour avez ai "
        "suis très être avoir cordialement".split()
    ),
    "es": frozenset(
        "el los las y es son no yo usted ustedes nosotros una unos del con para "
        "por pero que muy mi mis su sus gracias hola tengo tiene está estoy esto "
        "esta como cuando saludos favor".split()
    ),
    "nl": frozenset(
        "de het een en is zijn niet ik jij je u wij we met voor op maar ook nog "
        "graag bedankt dank alstublieft heb hebben heeft wordt kan kunnen mijn "
        "uw jullie wat hoe als dat dit groet groeten".split()
    ),
    "it": frozenset(
        "il lo gli la le e è sono non io noi una del della con per ma che molto "
        "mio mia grazie buongiorno ho hai abbiamo questo questa come quando "
        "saluti cordiali".split()
    ),
    "pt": frozenset(
        "o os as e é são não eu você nós uma um do da dos das com para por mas "
        "que muito meu minha obrigado obrigada olá tenho tem está estou isso "
        "como quando".split()
    ),
}
LANGUAGES: tuple[str, ...] = tuple(_STOP_WORDS)
# One lookup per word: word -> the languages it belongs to.
_INDEX: dict[str, tuple[str, ...]] = {}
for _lang, _words in _STOP_WORDS.items():
    for _word in _words:
        _INDEX[_word] = (*_INDEX.get(_word, ()), _lang)
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def guess_language(text: str) -> str | None:
    """Guess the language of a text by counting frequent function words.

    Args:
        text: Any text; only its first 2,000 characters are read.

    Returns:
        A two-letter code (``en``, ``de``, ``fr``, ``es``, ``nl``, ``it``,
        ``pt``), or ``None`` when the text is too short or no language wins
        clearly.
    """
    if not text:
        return None
    words = _WORD_RE.findall(text[:_MAX_CHARS].lower())
    if len(words) < 2:
        return None
    scores = dict.fromkeys(LANGUAGES, 0)
    index = _INDEX
    for word in words:
        langs = index.get(word)
        if langs:
            for lang in langs:
                scores[lang] += 1
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < _MIN_HITS or top == second:
        return None
    return best
