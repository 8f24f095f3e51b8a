"""Does detection find the unhappy customers? Labelled texts replayed as threads, against plain VADER.

Each labelled text becomes one thread: the customer writes the text (a
Tuesday, 10:00 UTC), staff answer two hours later with a plain, calm reply
that acknowledges the message (no answer, fix, promise or question: we
cannot answer a text we know nothing about, and a reply that claimed a fix
would contradict the label), then nothing more. Detection runs as of five
days later (``as_of``) with the default settings, through the real
:func:`outreach.detection.detect` over frames shaped as
:func:`outreach.sample.frames_from_conversations` builds them. A thread is
called "unhappy" when detection proposes ``check_in``, ``apology`` or
``call`` for it; that is compared to the text's label.

The baseline is the same detection with plain VADER as the tone: each
customer message's cached tone is VADER's compound score and a message is
negative when it is below −0.05 (``detection.negative_threshold``). Churn
words and every other rule are the same on both sides, so the difference is
the tone model alone.

Sets (from ``../shared/corpus``, each skipped when absent): airline tweets
negative vs positive (the tuning set: rows of both halves, see
``bench_tone``), UCI sentences (held-out fifth, and all rows: four fifths
trained the n-gram part), and, held out and reported only, Trustpilot
1–2 vs 4–5 stars and CFPB complaint narratives (all unhappy: recall).
Target on airline negative vs positive: F1 >= 0.88 with precision >= 0.9.

Detection reads our reply: a mildly negative message (a plain fault report)
counts only when the reply merely acknowledged it (``concern_threshold``,
``acknowledgement_phrases``). The same airline threads answered with a reply
that fixes the problem (``FIXING_REPLY``) are printed too: there only the
clearly negative customers remain.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pandas as pd

from benchmarks.bench_tone import airline, airline_neutral, cfpb, prf, trustpilot, uci_heldout
from outreach.sample.frames import customers_frame, no_outreach

UNHAPPY_KINDS = frozenset({"check_in", "apology", "call"})
STAFF = "support@example.com"
STAFF_REPLY = "Thank you for writing to us. We have read your message and updated your account notes."
FIXING_REPLY = "I've fixed this on your account and refunded the fee; it works again now."
WRITTEN_AT = datetime(2024, 6, 4, 10, 0, tzinfo=UTC)  # a Tuesday, inside business hours
ANSWERED_AFTER = timedelta(hours=2)
AS_OF = WRITTEN_AT + timedelta(days=5)


def thread_frames(
    texts: Sequence[str], tones: Sequence[float] | None = None, *, staff_reply: str = STAFF_REPLY
) -> dict[str, pd.DataFrame]:
    """Frames with one two-message thread per text (customer text, then our calm reply).

    Args:
        texts: The customers' texts; thread ``i + 1`` holds ``texts[i]``.
        tones: Optional cached tone per text (the ``tone`` column), e.g. a baseline's scores.
        staff_reply: Our reply in every thread.

    Returns:
        ``messages``, ``threads``, ``customers`` and ``outreach`` frames (columns as in
        :mod:`outreach.signals`).
    """
    n = len(texts)
    tids = list(range(1, n + 1))
    customers = [f"customer{i}@mail.example" for i in tids]
    subject = "About my experience"
    messages = pd.DataFrame(
        {
            "id": list(range(1, 2 * n + 1)),
            "thread_id": tids + tids,
            "direction": ["in"] * n + ["out"] * n,
            "from_address": customers + [STAFF] * n,
            "date": pd.to_datetime([WRITTEN_AT] * n + [WRITTEN_AT + ANSWERED_AFTER] * n, utc=True),
            "subject": [subject] * n + [f"Re: {subject}"] * n,
            "reply_text": list(texts) + [staff_reply] * n,
            "auto_kind": pd.Series([None] * (2 * n), dtype=object),
        }
    )
    if tones is not None:
        messages["tone"] = list(tones) + [float("nan")] * n
    answered = pd.Timestamp(WRITTEN_AT + ANSWERED_AFTER)
    written = pd.Timestamp(WRITTEN_AT)
    threads = pd.DataFrame(
        {
            "id": tids,
            "customer": customers,
            "subject": subject,
            "message_count": 2,
            "first_customer_at": written,
            "last_customer_at": written,
            "first_staff_at": answered,
            "last_staff_at": answered,
            "last_message_at": answered,
            "automation_stopped": False,
        }
    )
    cust = customers_frame(dict.fromkeys(customers))
    return {"messages": messages, "threads": threads, "customers": cust, "outreach": no_outreach()}


def unhappy_by_detection(
    texts: Sequence[str],
    *,
    baseline: bool = False,
    negative_threshold: float | None = None,
    staff_reply: str = STAFF_REPLY,
) -> list[bool]:
    """Whether detection proposes check_in/apology/call for each text's thread.

    Args:
        texts: The customers' texts.
        baseline: Use plain VADER as the tone (compound, negative below −0.05)
            instead of Outreach's tone model.
        negative_threshold: Override ``detection.negative_threshold`` (default: the
            setting's default, −0.05 for the baseline).
        staff_reply: Our reply in every thread.

    Returns:
        One flag per text, in order.
    """
    from outreach.detection import DetectionInput, detect
    from outreach.settings import Settings

    settings = Settings()
    tones = None
    if baseline:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
        tones = [analyzer.polarity_scores(t)["compound"] for t in texts]
        negative_threshold = -0.05 if negative_threshold is None else negative_threshold
    if negative_threshold is not None:
        settings = settings.model_copy(
            update={"detection": settings.detection.model_copy(update={"negative_threshold": negative_threshold})}
        )
    frames = thread_frames(texts, tones, staff_reply=staff_reply)
    found = detect(DetectionInput.from_frames(frames), settings, AS_OF)
    flagged = {c.thread_id for c in found if c.kind in UNHAPPY_KINDS}
    return [tid in flagged for tid in range(1, len(texts) + 1)]


def run() -> list[str]:
    """Precision, recall and F1 of "unhappy" on every available set; lines to print."""
    lines = [
        "unhappy: thread = customer text, our calm reply, 5 days of silence; unhappy = check_in/apology/call",
        "         plain VADER as the tone (compound < -0.05)  vs  Outreach tone (same detection rules)",
    ]
    sets: list[tuple[str, tuple[list[str], list[bool]] | None]] = [
        ("airline neg vs pos, all (tuning set)", airline("all")),
        ("airline neg vs pos, tuning half", airline("tune")),
        ("airline neg vs pos, other half", airline("check")),
        ("UCI held-out fifth", uci_heldout()),
        ("UCI all rows (4/5 trained the n-grams)", _uci_all()),
        ("Trustpilot 1-2 vs 4-5 stars (held out)", trustpilot()),
    ]
    for name, data in sets:
        if data is None:
            lines.append(f"  {name}: corpus not present, skipped")
            continue
        texts, gold = data
        v = prf(unhappy_by_detection(texts, baseline=True), gold)
        o = prf(unhappy_by_detection(texts), gold)
        lines.append(
            f"  {name:<40} n={len(texts):>5}  VADER P {v[0]:.3f} R {v[1]:.3f} F1 {v[2]:.3f}"
            f"  |  Outreach P {o[0]:.3f} R {o[1]:.3f} F1 {o[2]:.3f}"
        )
        if name.startswith("airline neg vs pos, all"):
            ok = o[2] >= 0.88 and o[0] >= 0.9
            lines.append(f"  {'':<40} target F1 >= 0.88 with P >= 0.9: {'met' if ok else 'NOT met'}")
            # Detection reads our reply: answered with a fix, a plain fault report
            # followed by silence is a settled matter, not an unhappy customer.
            fixed = prf(unhappy_by_detection(texts, staff_reply=FIXING_REPLY), gold)
            lines.append(
                f"  {'  same, our reply fixes the problem':<40} n={len(texts):>5}  "
                f"{'':<28}  |  Outreach P {fixed[0]:.3f} R {fixed[1]:.3f} F1 {fixed[2]:.3f}"
            )
            neutral = airline_neutral()
            if neutral:
                # Customers labelled neither: most ask a question, which a reply
                # that only acknowledges leaves unanswered too.
                rate = {
                    label: sum(unhappy_by_detection(neutral, **kw)) / len(neutral)
                    for label, kw in (
                        ("VADER", {"baseline": True}),
                        ("default", {}),
                        ("fixed", {"staff_reply": FIXING_REPLY}),
                    )
                }
                lines.append(
                    f"  {'airline NEUTRAL tweets flagged unhappy':<40} n={len(neutral):>5}  VADER {rate['VADER']:.3f}"
                    f"  |  Outreach {rate['default']:.3f}, when our reply fixes it {rate['fixed']:.3f}"
                )
    narratives = cfpb()
    if narratives is None:
        lines.append("  CFPB narratives: corpus not present, skipped")
    else:
        v_rec = sum(unhappy_by_detection(narratives, baseline=True)) / len(narratives)
        o_rec = sum(unhappy_by_detection(narratives)) / len(narratives)
        lines.append(
            f"  {'CFPB complaints, recall (held out)':<40} n={len(narratives):>5}"
            f"  VADER R {v_rec:.3f}  |  Outreach R {o_rec:.3f}"
        )
    return lines


def _uci_all() -> tuple[list[str], list[bool]] | None:
    import csv

    from benchmarks.bench_tone import CORPUS, UCI

    path = (CORPUS / UCI).resolve()
    if not path.exists():
        return None
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["label"] == "0" for r in rows]


if __name__ == "__main__":
    print("\n".join(run()))
