"""Drafts from templates: every kind × language renders, safely, in the right voice."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from outreach.drafting import (
    DRAFT_KINDS,
    SUBJECT_MAX,
    DraftContext,
    check_templates,
    context_dict,
    customer_reference,
    first_name,
    html_from_text,
    html_problems,
    key_sentence,
    render_draft,
    sample_contexts,
    topic,
)
from outreach.errors import TemplateError
from outreach.surveys import parse_score

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LANGUAGES = ("en", "de", "fr", "es")


def _ctx(kind: str = "follow_up", **changes: object) -> DraftContext:
    base = sample_contexts(kind, "en", "csat")[0]  # type: ignore[arg-type]
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", DRAFT_KINDS)
@pytest.mark.parametrize("scale", ("csat", "nps"))
def test_every_kind_and_language_renders(kind: str, language: str, scale: str) -> None:
    for ctx in sample_contexts(kind, language, scale):  # type: ignore[arg-type]
        draft = render_draft(kind, ctx, TEMPLATES)
        assert draft.language == language
        assert draft.template == f"{language}/{kind}"
        assert draft.subject and "\n" not in draft.subject
        assert len(draft.subject) <= SUBJECT_MAX
        assert ctx.agent_name in draft.text and ctx.agent_name in draft.html
        assert ctx.unsubscribe_url in draft.text
        assert f'href="{ctx.unsubscribe_url}"' in draft.html
        assert html_problems(draft.html) == []
        assert "{{" not in draft.text and "{%" not in draft.html


def test_customer_language_picks_templates_and_falls_back_to_english() -> None:
    de = render_draft("follow_up", _ctx(language="de"), TEMPLATES)
    assert de.text.startswith("Hallo Jane,")
    assert render_draft("follow_up", _ctx(language="de-AT"), TEMPLATES).language == "de"
    fr = render_draft("follow_up", _ctx(language="fr"), TEMPLATES)
    assert (fr.language, fr.text.split("\n")[0]) == ("fr", "Bonjour Jane,")
    es = render_draft("follow_up", _ctx(language="es-MX"), TEMPLATES)
    assert (es.language, es.text.split("\n")[0]) == ("es", "Hola, Jane:")
    it = render_draft("follow_up", _ctx(language="it"), TEMPLATES)  # no Italian templates
    assert (it.language, it.text.split("\n")[0]) == ("en", "Hi Jane,")


def test_greeting_falls_back_without_a_name() -> None:
    assert render_draft("check_in", _ctx("check_in", customer_name=None), TEMPLATES).text.startswith("Hi there,")
    de = render_draft("check_in", _ctx("check_in", customer_name=None, language="de"), TEMPLATES)
    assert de.text.startswith("Hallo,")


def test_restates_the_customers_words_and_says_what_happens_next() -> None:
    ctx = _ctx(key_sentence="I was charged twice for March.", reply_by="by Friday")
    draft = render_draft("follow_up", ctx, TEMPLATES)
    assert "“I was charged twice for March.”" in draft.text
    assert "by Friday" in draft.text
    assert "<blockquote" in draft.html and "I was charged twice for March." in draft.html
    custom = render_draft("follow_up", replace(ctx, next_step="Billing refunds it today."), TEMPLATES)
    assert "Billing refunds it today." in custom.text and "by Friday" not in custom.text


def test_apology_gesture_only_when_chosen() -> None:
    with_gesture = render_draft("apology", _ctx("apology", gesture="a free month"), TEMPLATES)
    without = render_draft("apology", _ctx("apology", gesture=None), TEMPLATES)
    assert "a free month" in with_gesture.text and "a free month" in with_gesture.html
    assert "I've arranged" not in without.text


def test_survey_text_invites_a_reply_and_html_has_one_signed_link_per_score() -> None:
    for scale, scores in (("csat", range(1, 6)), ("nps", range(11))):
        ctx = sample_contexts("survey", "en", scale)[0]  # type: ignore[arg-type]
        draft = render_draft("survey", ctx, TEMPLATES)
        assert "just reply with a number" in draft.text.lower()
        assert "survey/tok" not in draft.text  # the text asks for a reply, no link soup
        for score in scores:
            assert draft.html.count(f'href="{ctx.score_links[score]}"') == 1
        # Our own survey, quoted back in a reply, never reads as a vote.
        quoted = "Thanks!\n\n" + draft.text
        assert parse_score(quoted, scale).status == "none"  # type: ignore[arg-type]


def test_survey_without_every_link_is_refused() -> None:
    ctx = replace(sample_contexts("survey", "en", "csat")[0], score_links={1: "https://x/1"})
    with pytest.raises(TemplateError, match="missing"):
        render_draft("survey", ctx, TEMPLATES)


def test_html_autoescapes_the_customers_words() -> None:
    evil = 'It broke <script>alert("x")</script> & <img src=x onerror=y>'
    draft = render_draft("check_in", _ctx("check_in", key_sentence=evil, customer_name="<b>Jo</b>"), TEMPLATES)
    assert "<script>" not in draft.html and "<img" not in draft.html and "<b>Jo" not in draft.html
    assert "&lt;script&gt;" in draft.html and "&amp;" in draft.html
    assert evil in draft.text  # plain text carries the words as written


def test_css_is_inlined() -> None:
    draft = render_draft("survey", sample_contexts("survey", "en", "csat")[0], TEMPLATES)
    assert "<style" not in draft.html
    assert re.search(r'<a class="score"[^>]*style="[^"]*border', draft.html)
    assert re.search(r'<blockquote|<p[^>]*style="[^"]*margin', draft.html)


def test_subjects_are_short_replies_not_marketing() -> None:
    long_subject = "RE: Re: AW: " + "my order never arrived and nobody answers " * 5
    for language in LANGUAGES:
        for kind in DRAFT_KINDS:
            draft = render_draft(kind, _ctx(kind, thread_subject=long_subject, language=language), TEMPLATES)
            assert len(draft.subject) <= SUBJECT_MAX
            assert "!!" not in draft.subject
            assert not re.search(r"\b[A-Z]{4,}\b", draft.subject)
    reply = render_draft("follow_up", _ctx(thread_subject="Re: AW: Refund"), TEMPLATES)
    assert reply.subject == "Re: Refund"
    assert render_draft("follow_up", _ctx(thread_subject=""), TEMPLATES).subject == "Re: your message"


def test_subject_cannot_carry_a_header_injection() -> None:
    draft = render_draft("follow_up", _ctx(thread_subject="Hi\r\nBcc: all@example.com"), TEMPLATES)
    assert "\n" not in draft.subject and "\r" not in draft.subject


def test_missing_variable_raises_template_error(tmp_path: Path) -> None:
    root = tmp_path / "email"
    shutil.copytree(TEMPLATES / "email", root)
    (root / "en" / "follow_up.txt.j2").write_text(
        '{% extends "_layout.txt.j2" %}{% block body %}Hi {{ custmer_name }}{% endblock %}',
        encoding="utf-8",
    )
    with pytest.raises(TemplateError, match="custmer_name"):
        render_draft("follow_up", _ctx(), tmp_path)


def test_unknown_kind_is_a_template_error() -> None:
    with pytest.raises(TemplateError):
        render_draft("call", _ctx(), TEMPLATES)


def test_check_templates_passes_on_the_shipped_templates() -> None:
    assert check_templates(TEMPLATES) == []


def test_check_templates_catches_broken_templates(tmp_path: Path) -> None:
    root = tmp_path / "email"
    shutil.copytree(TEMPLATES / "email", root)
    (root / "de" / "apology.html.j2").unlink()  # missing twin
    (root / "en" / "check_in.html.j2").write_text(  # unbalanced HTML
        '{% extends "_layout.html.j2" %}{% block body %}<p>Hi <b>{{ customer_name }}</p>{% endblock %}',
        encoding="utf-8",
    )
    (root / "en" / "survey.subject.j2").write_text(  # too long, shouting
        "{{ thread_subject }} PLEASE ANSWER OUR SURVEY NOW!!! " * 2, encoding="utf-8"
    )
    (root / "en" / "thank_you.txt.j2").write_text(  # undefined variable
        '{% extends "_layout.txt.j2" %}{% block body %}{{ nope }}{% endblock %}', encoding="utf-8"
    )
    (root / "en" / "apology.txt.j2").write_text("{% if %}", encoding="utf-8")  # syntax
    problems = "\n".join(check_templates(tmp_path))
    assert "de/apology.html.j2 is missing" in problems
    assert "en/check_in" in problems and "HTML:" in problems
    assert "en/survey" in problems and "characters (max 78)" in problems
    assert "looks like marketing" in problems
    assert "en/thank_you" in problems and "nope" in problems
    assert "en/apology.txt.j2:1: syntax error" in problems


def test_html_from_text_rebuilds_an_edited_draft_safely() -> None:
    text = (
        "Hi Jane,\n\nYou wrote:\n\n  “<script>x()</script> & co”\n\nDone now.\n\nSam\n\n-- \n"
        "Unsubscribe: https://outreach.example/unsubscribe/a.b?c=1&d=2\n"
    )
    html = html_from_text(text)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert re.search(r"<blockquote[^>]*>“&lt;script", html)
    assert 'href="https://outreach.example/unsubscribe/a.b?c=1&amp;d=2"' in html
    assert re.search(r'<div class="footer"[^>]*>Unsubscribe:', html)
    assert "<style" not in html and 'style="' in html
    assert html_problems(html) == []


def test_environment_is_cached_per_folder() -> None:
    from outreach.drafting import environment

    assert environment(TEMPLATES) is environment(TEMPLATES / "email")


def test_context_dict_is_plain_data() -> None:
    import json

    data = context_dict(sample_contexts("survey", "en", "nps")[0])
    assert json.loads(json.dumps(data))["score_links"]["10"].endswith("tok10")


# --- the customer's words -------------------------------------------------------------------


def test_key_sentence_picks_the_complaint() -> None:
    text = (
        "Hi team,\n\nThanks for getting back to me. I ordered the blue kettle in March. "
        "It still has not arrived and nobody answers my emails. Kind regards,\nJane"
    )
    assert key_sentence(text) == "It still has not arrived and nobody answers my emails."


def test_key_sentence_prefers_a_question_over_small_talk() -> None:
    text = "Hello,\nHope you are well. Can you tell me when my refund will be processed?\nThanks!"
    assert key_sentence(text) == "Can you tell me when my refund will be processed?"


def test_key_sentence_german_and_quotes_ignored() -> None:
    text = (
        "Hallo zusammen,\n\nich habe gestern bestellt. Die Rechnung ist falsch, ich wurde doppelt belastet.\n\n"
        "Viele Grüße\nJörg\n\nAm 3. März 2025 um 10:02 schrieb Support <s@example.com>:\n> Is it still broken?"
    )
    assert key_sentence(text) == "Die Rechnung ist falsch, ich wurde doppelt belastet."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bonjour,\n\nJ'ai commandé un vélo il y a trois semaines. Ma commande n'est jamais arrivée et "
         "personne ne répond. Merci d'avance.\n\nCordialement,\nMarie",
         "Ma commande n'est jamais arrivée et personne ne répond."),
        ("Hola:\n\nPedí una bicicleta hace tres semanas. El pedido nunca llegó y nadie contesta. Gracias.\n\n"
         "Saludos,\nJuan", "El pedido nunca llegó y nadie contesta."),
        ("Hallo,\n\nich habe vor drei Wochen bestellt. Die Lieferung ist nie angekommen und niemand antwortet. Danke",
         "Die Lieferung ist nie angekommen und niemand antwortet."),
        ("Buenos días. Muchas gracias por su ayuda. La factura de marzo está mal, me cobraron dos veces.",
         "La factura de marzo está mal, me cobraron dos veces."),
    ],
)
def test_key_sentence_in_french_spanish_and_german_finds_the_problem(text: str, expected: str) -> None:
    """The sentence with the most problem words wins over one that only says when it started."""
    assert key_sentence(text) == expected


def test_key_sentence_is_trimmed_at_a_word_boundary() -> None:
    long = "The export still fails " + "with a very long explanation " * 20 + "."
    result = key_sentence(long)
    assert len(result) <= 200 and result.endswith("…")
    assert not result[:-1].endswith(" ") and long.startswith(result[:-1])


def test_key_sentence_empty_when_nothing_to_say() -> None:
    assert key_sentence("") == ""
    assert key_sentence("Hi,\nThanks!\nBest,") == ""


@pytest.mark.parametrize(
    ("display", "address", "expected"),
    [
        ("Jane Doe", "jd@example.com", "Jane"),
        ("Doe, Jane", "jd@example.com", "Jane"),
        ("JANE DOE", "jd@example.com", "Jane"),
        ("jane doe", "", "Jane"),
        ('"Dr. Jane Doe"', "", "Jane"),
        ("jean-luc picard", "", "Jean-Luc"),
        ("Jean-luc Picard", "", "Jean-luc"),  # mixed case is how they spell it
        ("Müller, Jörg", "", "Jörg"),
        ("Jane Doe (Acme)", "", "Jane"),
        ("", "jane.doe@example.com", "Jane"),
        ("", "JANE_DOE@example.com", "Jane"),
        ("", "jane.doe+shop@example.com", "Jane"),
        ("jane.doe@example.com", "jane.doe@example.com", "Jane"),
        ("", "jdoe@example.com", None),
        ("", "support@example.com", None),
        ("", "info.team@example.com", None),
        ("Acme Support", "help@acme.com", None),
        ("ACME GmbH", "x@acme.de", None),
        ("", "", None),
        ("12345", "", None),
    ],
)
def test_first_name(display: str, address: str, expected: str | None) -> None:
    assert first_name(display, address) == expected


# --- the topic a survey names --------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_text", "subject", "expected"),
    [
        # The thanks that closed a conversation is never its topic (the QA reports, typo included).
        ("Brilliant, thank you! Really appreciate it.", "Re: Order #12345 not delivered", "Order #12345 not delivered"),
        ("Tahnk you, that's exactly what I needed.", "Question", ""),
        ("Perfect, all sorted now. Thanks a lot!", "help", ""),
        # The request itself, from the customer's first message, greeting and sign-off dropped.
        (
            "Hello, I ordered a lamp three weeks ago and it never arrived. Where is my parcel? Thanks in advance.",
            "Lamp",
            "I ordered a lamp three weeks ago and it never arrived",
        ),
        ("Hi, I'd like to change my billing address. Can you help with this?", "Billing", "I'd like to change my billing address"),
        # A vague ask says nothing; the subject does.
        ("Hi there,\n\nCan you help with this?\n\nThanks", "Refund for order #12345", "Refund for order #12345"),
        ("Bonjour, ma commande n'est jamais arrivée. Merci d'avance.", "Commande", "Ma commande n'est jamais arrivée"),
        ("Hola: mi pedido no ha llegado todavía.", "x", "Mi pedido no ha llegado todavía"),
        # Thanks with a problem in it is still about the problem.
        ("Thanks for the reply, but the refund still hasn't arrived.", "", "Thanks for the reply, but the refund still hasn't arrived"),
    ],
)
def test_topic_is_what_the_conversation_was_about_never_the_thanks(first_text: str, subject: str, expected: str) -> None:
    assert topic(first_text, subject) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_survey_names_the_topic_or_no_topic_never_the_closing_thanks(language: str) -> None:
    ctx = replace(sample_contexts("survey", language, "csat")[0], key_sentence="Brilliant, thank you!", topic="")
    draft = render_draft("survey", ctx, TEMPLATES)
    for body in (draft.text, draft.html):
        assert "Brilliant" not in body
        assert "“" not in body and "„" not in body and "«" not in body  # no empty or stray quotes
    named = render_draft("survey", replace(ctx, topic="My parcel never arrived"), TEMPLATES)
    assert "My parcel never arrived" in named.text and "My parcel never arrived" in named.html
    assert "Brilliant" not in named.text


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Order #12345 not delivered", "order #12345"),
        ("Re: Invoice INV-2026-0123", "invoice INV-2026-0123"),
        ("Refund for order #12345", "order #12345"),
        ("AW: Rechnung Nr. 2026-17", "Rechnung Nr. 2026-17"),
        ("Commande n° 4411", "commande n° 4411"),
        ("Pedido 1234 no llegó", "pedido 1234"),
        ("Issue #4711 again", "#4711"),
        ("Login not working", ""),
        ("Sync stuck at 45%", ""),
        ("", ""),
    ],
)
def test_customer_reference_is_the_number_from_their_own_subject(subject: str, expected: str) -> None:
    assert customer_reference(subject) == expected
