"""extract_reply: exact-match rate on fixtures with ground truth, languages, banners, worst cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.mailparse import parse_message
from outreach.replytext import extract_reply, normalise_ws

CORPUS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus").resolve()
REPLIES = CORPUS / "B_replies"
DISCOURSE = REPLIES / "discourse-email_reply_trimmer"
TALON = REPLIES / "mailgun-talon" / "standard_replies"
ALFONSRV = REPLIES / "alfonsrv-mail-parser-reply"
GITHUB = REPLIES / "github-email_reply_parser"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"corpus not present: {path}")
    return path


def _discourse_cases() -> list[tuple[str, str, str]]:
    emails = _need(DISCOURSE / "emails")
    return [
        (p.name, p.read_text(encoding="utf-8"), (DISCOURSE / "trimmed" / p.name).read_text(encoding="utf-8"))
        for p in sorted(emails.iterdir())
        if (DISCOURSE / "trimmed" / p.name).is_file()
    ]


def test_discourse_exact_match_rate_at_least_90_percent() -> None:
    cases = _discourse_cases()
    misses = [name for name, text, want in cases if normalise_ws(extract_reply(text)) != normalise_ws(want)]
    rate = 1 - len(misses) / len(cases)
    print(f"\ndiscourse exact match: {len(cases) - len(misses)}/{len(cases)} = {rate:.1%}; misses: {misses}")
    assert len(cases) == 64
    assert rate >= 0.9


def test_talon_reply_fixtures_match_with_signatures_kept() -> None:
    # Talon's expected output keeps the signature ("Sent from my iPhone"),
    # so it is compared with keep_signature=True; by default we strip it.
    hits = 0
    for name in ("iphone", "sparrow"):
        text = parse_message(_need(TALON / f"{name}.eml").read_bytes()).text
        want = (TALON / f"{name}_reply_text").read_text(encoding="utf-8")
        got = extract_reply(text, keep_signature=True)
        hits += normalise_ws(got) == normalise_ws(want)
        assert normalise_ws(extract_reply(text)) == "Hello"
    print(f"\ntalon exact match (signatures kept): {hits}/2")
    assert hits == 2


def test_combined_rate_discourse_and_talon() -> None:
    cases = _discourse_cases()
    ok = sum(normalise_ws(extract_reply(t)) == normalise_ws(w) for _, t, w in cases)
    for name in ("iphone", "sparrow"):
        text = parse_message(_need(TALON / f"{name}.eml").read_bytes()).text
        want = (TALON / f"{name}_reply_text").read_text(encoding="utf-8")
        ok += normalise_ws(extract_reply(text, keep_signature=True)) == normalise_ws(want)
    rate = ok / (len(cases) + 2)
    print(f"\ncombined exact match: {ok}/{len(cases) + 2} = {rate:.1%}")
    assert rate >= 0.9


@pytest.mark.parametrize(
    ("fixture", "first_line", "history"),
    [
        ("email_danish_1.txt", "Hej Peter,", "Hvordan går det med projektet"),
        ("email_swedish_1.txt", "Hej Person A,", "Jag har försökt"),
        ("email_ja_1_2.txt", "田中様", "かしこまりました"),
        ("email_nl_1_1.txt", "Hallo allemaal,", "riak-gebruikers mailing list"),
        ("caution.txt", "Hi lads's Team,", "CAUTION"),
        ("caution2.txt", "Hello,", "The information contained in this communication"),
        ("outlook.txt", "Dear Team,", "Get Outlook for iOS"),
    ],
)
def test_multilingual_fixtures_keep_new_words_and_drop_history(fixture: str, first_line: str, history: str) -> None:
    got = extract_reply(_need(ALFONSRV / fixture).read_text(encoding="utf-8"))
    assert got.splitlines()[0].strip() == first_line
    assert history not in got


@pytest.mark.parametrize(
    ("marker", "lang"),
    [
        ("On Tue, Apr 2, 2024 at 10:00 AM Support <support@example.com> wrote:", "en"),
        ("Am Di., 2. Apr. 2024 um 10:00 Uhr schrieb Support <support@example.com>:", "de"),
        ("Le mar. 2 avr. 2024 à 10:00, Support <support@example.com> a écrit :", "fr"),
        ("El mar, 2 abr 2024 a las 10:00, Support (<support@example.com>) escribió:", "es"),
        ("Op di 2 apr. 2024 om 10:00 schreef Support <support@example.com>:", "nl"),
        ("Den tirs. 2. apr. 2024 kl. 10.00 skrev Support <support@example.com>:", "da"),
        ("W dniu wt., 2.04.2024 o 10:00 Support <support@example.com> napisał:", "pl"),
        ("Il giorno mar 2 apr 2024 alle ore 10:00 Support <support@example.com> ha scritto:", "it"),
        ("Em ter., 2 de abr. de 2024 às 10:00, Support <support@example.com> escreveu:", "pt"),
        ("2024年4月2日(火) 10:00 Support <support@example.com>:", "ja"),
        ("-----Original Message-----", "outlook"),
        ("---------- Forwarded message ---------", "gmail-fwd"),
        ("-----Ursprüngliche Nachricht-----", "outlook-de"),
    ],
)
def test_reply_markers_in_many_languages(marker: str, lang: str) -> None:
    text = f"Thanks, that fixed it.\n\n{marker}\n> Please try restarting.\n> Support\n"
    assert extract_reply(text) == "Thanks, that fixed it.", lang


def test_wrapped_marker_and_outlook_header_block() -> None:
    wrapped = (
        "Still broken for me.\n\nOn Tue, Apr 2, 2024 at 10:00 AM Support Team <\n"
        "support@example.com> wrote:\n\n> Did it work?\n"
    )
    assert extract_reply(wrapped) == "Still broken for me."
    outlook = (
        "Please cancel my subscription.\n\n________________________________\n"
        "From: Support <support@example.com>\nSent: Tuesday, April 2, 2024 10:00 AM\n"
        "To: Jane <jane@example.org>\nSubject: Your ticket\n\nHello Jane, ...\n"
    )
    assert extract_reply(outlook) == "Please cancel my subscription."
    german_outlook = (
        "Danke!\n\nVon: Support <support@example.com>\nGesendet: Dienstag, 2. April 2024 10:00\n"
        "An: Jane <jane@example.org>\nBetreff: Ihr Ticket\n\nHallo Jane\n"
    )
    assert extract_reply(german_outlook) == "Danke!"


def test_signatures_banners_and_quotes() -> None:
    assert extract_reply("Works now.\n\nSent from my iPhone\n") == "Works now."
    assert extract_reply("Works now.\n\nVon meinem iPhone gesendet\n") == "Works now."
    assert extract_reply("Works now.\n\n-- \nJane Doe\nACME Corp\n") == "Works now."
    signoff = "Works now.\n\nBest regards,\nJane Doe\nHead of IT, ACME Corp\nPhone: +1 555 0100\nwww.acme.example\n"
    assert extract_reply(signoff) == "Works now.\n\nBest regards,\nJane Doe"
    banner = (
        "CAUTION: This email originated from outside of the organization. Do not click links.\n\n"
        "My invoice is wrong.\n"
    )
    assert extract_reply(banner) == "My invoice is wrong."
    assert extract_reply("Yes please.\n\n> Shall we refund you?\n>\n") == "Yes please."
    # Interleaved answers keep the question they answer.
    inline = "> Which plan?\nThe pro plan.\n> Since when?\nLast May.\n"
    assert extract_reply(inline) == inline.strip()
    assert extract_reply("") == "" and extract_reply("  \n\n") == ""
    # A body that is only a quote with its marker carries no new words.
    assert extract_reply("> On Tue, Apr 2, 2024 at 10:00 AM A <a@b.c> wrote:\n>> hi\n") == ""


def test_ordinary_sentences_are_not_taken_for_markers() -> None:
    text = (
        "I wrote one of my own:\n\nhttp://example.com/guide\n\n"
        "On this day I sent from my office the form you asked for.\nThanks!"
    )
    assert extract_reply(text) == text


def test_long_and_pathological_inputs_complete() -> None:
    long_quote = _need(GITHUB / "email_long_quote.txt").read_text(encoding="utf-8")
    got = extract_reply(long_quote)
    assert got.startswith("Hi folks") and "riak-users mailing list" not in got
    patho = _need(GITHUB / "pathological.txt").read_text(encoding="utf-8")
    assert extract_reply(patho).startswith("I think you're onto something.")
    # Constructed worst cases: giant lines that look almost like markers.
    for evil in (
        "On " + "1, " * 200_000 + "\nwrote",
        "x" * 1_000_000,
        ("On Tue, 2 Apr 2024 <a@b.c>\n" * 50_000),
        ">" * 500_000 + "\n" + "text\n" * 1000,
        "From: " + "a" * 300_000 + "\nSent: x\nTo: y\nSubject: z\n",
    ):
        assert isinstance(extract_reply(evil), str)
