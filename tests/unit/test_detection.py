"""Detection: precision/recall on the sample's planted truth, one hand-built case per rule, reasons quote evidence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd
import pytest

from outreach.detection import PRECEDENCE, DetectionInput, detect, explain
from outreach.sample import SAMPLE_AS_OF, conversations, frames_from_conversations, sample_settings
from outreach.signals import SIGNAL_COLUMNS

NOW = SAMPLE_AS_OF  # Thursday 19 March 2026, 15:00 UTC
CUSTOMER = "ann@example.com"
STAFF = "priya@northwind.example"
SETTINGS = sample_settings()


# -- the sample, end to end on frames ---------------------------------------------


def test_precision_and_recall_per_kind_on_the_sample() -> None:
    convs = conversations()
    inp = DetectionInput.from_frames(frames_from_conversations(convs))
    got = {c.thread_id: c.kind for c in detect(inp, SETTINGS, NOW)}
    expected = {i + 1: c.expected_kind for i, c in enumerate(convs)}
    lines, worst = [], 1.0
    for kind in PRECEDENCE:
        tp = sum(1 for t, k in expected.items() if k == kind and got.get(t) == kind)
        fp = sum(1 for t, k in got.items() if k == kind and expected[t] != kind)
        fn = sum(1 for t, k in expected.items() if k == kind and got.get(t) != kind)
        precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        worst = min(worst, precision, recall)
        lines.append(f"{kind:10s} precision {precision:.3f} recall {recall:.3f} (tp {tp}, fp {fp}, fn {fn})")
    print("\n" + "\n".join(lines))
    assert worst >= 0.95, "\n".join(lines)


# -- hand-built frames ---------------------------------------------------------------


def at(text: str) -> datetime:
    return pd.Timestamp(text, tz="UTC").to_pydatetime()


Row = tuple  # (thread_id, direction, when, text[, auto_kind[, tone]])


def frames(
    rows: Sequence[Row],
    *,
    customers: dict[int, str] | None = None,
    outreach: list[dict[str, object]] | None = None,
    unsubscribed: dict[str, datetime] | None = None,
    stopped: Sequence[int] = (),
) -> DetectionInput:
    """Messages from compact rows; a sixth element injects a cached tone score."""
    records = []
    for i, row in enumerate(rows, start=1):
        tid, direction, when, text = row[:4]
        auto = row[4] if len(row) > 4 else None
        tone = row[5] if len(row) > 5 else None
        sender = (customers or {}).get(tid, CUSTOMER) if direction == "in" else STAFF
        records.append(
            {"id": i, "thread_id": tid, "direction": direction, "from_address": sender, "date": at(when),
             "subject": "Refund request", "reply_text": text, "auto_kind": auto, "tone": tone}
        )
    msgs = pd.DataFrame(records)
    msgs["date"] = pd.to_datetime(msgs["date"], utc=True)
    msgs["tone"] = msgs["tone"].astype(float)
    first_in = msgs[msgs["direction"] == "in"].groupby("thread_id")["from_address"].first()
    threads = pd.DataFrame({"id": sorted(msgs["thread_id"].unique())})
    threads["customer"] = threads["id"].map(first_in)
    threads["subject"] = "Refund request"
    threads["automation_stopped"] = threads["id"].isin(stopped)
    addresses = sorted(set(msgs.loc[msgs["direction"] == "in", "from_address"]))
    cust = pd.DataFrame({"address": addresses, "value": 1.0, "timezone": None})
    cust["unsubscribed_at"] = pd.to_datetime([(unsubscribed or {}).get(a) for a in addresses], utc=True)
    out = pd.DataFrame(outreach or [], columns=["thread_id", "kind", "status", "sent_at", "created_at"])
    out["sent_at"] = pd.to_datetime(out["sent_at"], utc=True)
    return DetectionInput(messages=msgs, threads=threads, customers=cust, outreach=out)


def only(inp: DetectionInput, now: datetime = NOW):
    found = detect(inp, SETTINGS, now)
    assert len(found) <= 1, found
    return found[0] if found else None


def test_unanswered_past_sla_is_follow_up_and_says_how_long() -> None:
    cand = only(frames([(1, "in", "2026-03-16 10:00", "How do I export all contacts to CSV?")]))
    assert cand is not None and cand.kind == "follow_up"
    # Mon 10:00 → Thu 15:00 is 7 + 8 + 8 + 6 business hours.
    assert "customer's last message unanswered for 29 business hours" in cand.reasons[0]


def test_within_sla_waits_for_the_normal_queue() -> None:
    assert only(frames([(1, "in", "2026-03-19 10:00", "How do I export all contacts to CSV?")])) is None


def test_next_response_sla_is_longer_than_first() -> None:
    rows = [
        (1, "in", "2026-03-17 09:00", "How do I export all contacts?"),
        (1, "out", "2026-03-17 10:00", "Use Settings, Data, Export."),
        (1, "in", "2026-03-18 09:00", "And the custom fields, how do I include them?"),
    ]
    # 14 business hours waited: past the first-response SLA (8), inside the next-response one (16).
    assert only(frames(rows)) is None
    assert only(frames(rows), NOW + timedelta(hours=20)).kind == "follow_up"


def test_broken_promise_quotes_it_and_pending_one_does_not_fire() -> None:
    broken = [
        (1, "in", "2026-03-09 10:00", "Where is my refund?"),
        (1, "out", "2026-03-09 11:00", "Sorry for the wait. We're looking into it and I'll get back to you by Friday."),
    ]
    cand = only(frames(broken))
    assert cand is not None and cand.kind == "follow_up"
    assert "I'll get back to you by Friday" in cand.reasons[0] and "Mon 09 Mar" in cand.reasons[0]
    pending = [
        (1, "in", "2026-03-18 10:00", "Where is my refund?"),
        (1, "out", "2026-03-18 11:00", "I'll get back to you by Friday."),
    ]
    assert only(frames(pending)) is None  # Wednesday's promise for Friday still holds on Thursday


def test_german_promise_counts() -> None:
    rows = [
        (1, "in", "2026-03-09 10:00", "Wo bleibt meine Rechnung?"),
        (1, "out", "2026-03-09 11:00", "Danke, wir schauen uns das an und ich melde mich bis Freitag bei Ihnen."),
    ]
    cand = only(frames(rows))
    assert cand is not None and cand.kind == "follow_up" and "melde mich" in cand.reasons[0]


@pytest.mark.parametrize(
    ("question", "promise", "phrase"),
    [
        ("Où en est mon remboursement ?", "Merci, nous vérifions et je reviens vers vous rapidement.", "reviens vers vous"),
        ("¿Dónde está mi reembolso?", "Gracias, lo estamos revisando y le avisaré en cuanto sepa algo.", "lo estamos revisando"),
    ],
)
def test_french_and_spanish_promises_count(question: str, promise: str, phrase: str) -> None:
    rows = [(1, "in", "2026-03-09 10:00", question), (1, "out", "2026-03-09 11:00", promise)]
    cand = only(frames(rows))
    assert cand is not None and cand.kind == "follow_up" and phrase in cand.reasons[0]


@pytest.mark.parametrize(
    ("said", "word"),
    [("Si ce n'est pas réglé vendredi, je vais résilier mon abonnement.", "résilier"),
     ("Si no lo arreglan, voy a darme de baja.", "darme de baja")],
)
def test_french_and_spanish_churn_words(said: str, word: str) -> None:
    rows = [(1, "in", "2026-03-17 10:00", said, None, 0.0), (1, "out", "2026-03-17 11:00", "C'est corrigé.")]
    cand = only(frames(rows))
    assert cand is not None and cand.kind == "check_in" and f"said '{word}'" in cand.reasons[0]


def test_question_to_customer_waits_without_outreach() -> None:
    rows = [
        (1, "in", "2026-03-09 10:00", "Where is my parcel?", None, 0.0),
        (1, "out", "2026-03-09 11:00", "Could you send me the order number?"),
    ]
    inp = frames(rows)
    assert only(inp) is None
    info = explain(1, inp, SETTINGS, NOW)
    assert info["staff_question"] is True and info["kind"] is None


def test_silent_after_negative_message_is_check_in_only_after_quiet_days() -> None:
    text = "Nobody reads my mail. I'm really fed up."
    rows = [
        (1, "in", "2026-03-12 10:00", text, None, -0.8),
        (1, "out", "2026-03-13 10:00", "The refund went out today."),
    ]
    cand = only(frames(rows))
    assert cand is not None and cand.kind == "check_in"
    assert any(r.startswith("quiet for 6 days after our reply") for r in cand.reasons)
    assert any(r.startswith("negative tone \u22120.80: '") for r in cand.reasons)
    recent = [(1, "in", "2026-03-17 10:00", text, None, -0.8), (1, "out", "2026-03-18 10:00", "Done.")]
    assert only(frames(recent)) is None


def test_mild_complaint_met_with_a_mere_acknowledgement_then_quiet_is_a_check_in() -> None:
    text = "The export leaves out the custom fields again."
    ack = "Thank you for writing to us. We have noted your message."
    cand = only(frames([(1, "in", "2026-03-12 10:00", text, None, -0.2), (1, "out", "2026-03-13 10:00", ack)]))
    assert cand is not None and cand.kind == "check_in"
    assert cand.reasons[0] == (
        "quiet for 6 days after a reply that only acknowledged their message ('Thank you for writing to us.')"
    )
    assert any(r.startswith("mildly negative tone −0.20: '") for r in cand.reasons)
    assert cand.priority < only(
        frames([(1, "in", "2026-03-12 10:00", text, None, -0.8), (1, "out", "2026-03-13 10:00", ack)])
    ).priority


@pytest.mark.parametrize(
    "reply",
    [
        "Custom fields are included once you tick 'Include custom fields' on the export screen.",
        "Thanks for writing. Which export screen do you use?",
        "Thanks for writing. We're looking into it.",
    ],
    ids=["answered", "asked", "promised"],
)
def test_mild_complaint_answered_asked_or_promised_is_no_check_in(reply: str) -> None:
    text = "The export leaves out the custom fields again."
    inp = frames([(1, "in", "2026-03-12 10:00", text, None, -0.2), (1, "out", "2026-03-13 10:00", reply)])
    cand = only(inp)
    # Answered or asked: nothing to do. Promised: the broken promise is what we owe (follow_up).
    assert cand is None or (cand.kind == "follow_up" and cand.reasons[0].startswith("we promised"))
    assert explain(1, inp, SETTINGS, NOW)["concern"] is False


def test_neutral_message_met_with_an_acknowledgement_is_left_alone() -> None:
    rows = [(1, "in", "2026-03-12 10:00", "Is there a dark mode?", None, 0.0),
            (1, "out", "2026-03-13 10:00", "Thank you for writing to us.")]
    assert only(frames(rows)) is None


def test_churn_words_check_in_when_answered_follow_up_when_not() -> None:
    said = "If this isn't fixed by Friday I'm going to cancel our subscription."
    answered = [(1, "in", "2026-03-17 10:00", said, None, 0.0), (1, "out", "2026-03-17 11:00", "Fixed now.")]
    cand = only(frames(answered))
    assert cand is not None and cand.kind == "check_in"
    assert "said 'cancel'" in cand.reasons[0] and "going to cancel our subscription" in cand.reasons[0]
    unanswered = [(1, "in", "2026-03-16 10:00", said, None, 0.0)]
    cand = only(frames(unanswered))
    assert cand is not None and cand.kind == "follow_up"
    assert any("said 'cancel'" in r for r in cand.reasons)


def test_repeat_contacts_flag_the_latest_thread_only() -> None:
    rows = []
    for tid, day in ((1, "2026-03-03"), (2, "2026-03-07"), (3, "2026-03-12")):
        rows += [(tid, "in", f"{day} 10:00", "Hi, a question about my refund for order #1234.", None, 0.0),
                 (tid, "out", f"{day} 11:00", "The refund is on its way.")]
    found = detect(frames(rows), SETTINGS, NOW)
    assert [c.thread_id for c in found] == [3]
    assert found[0].kind == "check_in"
    assert "3 contacts about 'refund' in 9 days" in found[0].reasons[0]


def test_stalemate_is_a_call() -> None:
    rows = []
    for i in range(5):
        rows.append((1, "in", f"2026-03-{9 + i:02d} 09:30", "Still broken, this is ridiculous.", None, -0.7))
        rows.append((1, "out", f"2026-03-{9 + i:02d} 10:30", "Could you try reinstalling?"))
    cand = only(frames(rows))
    assert cand is not None and cand.kind == "call"
    assert cand.reasons[0].startswith("10 messages back and forth (5 from the customer)")


def test_incident_with_unhappy_customer_is_apology() -> None:
    rows = [
        (1, "in", "2026-03-10 15:00", "Your checkout was down all afternoon. We lost sales!", None, -0.8),
        (1, "out", "2026-03-10 16:00", "Sorry, it is fixed now."),
    ]
    cand = only(frames(rows))
    assert cand is not None and cand.kind == "apology"
    assert cand.reasons[0] == "wrote about the checkout outage: 'Your checkout was down all afternoon.'"
    calm_after = [(1, "in", "2026-03-15 15:00", "Is checkout down? Sad.", None, -0.8)]
    assert only(frames(calm_after)).kind == "follow_up"  # outside the incident window: no apology


def test_survey_only_inside_the_window() -> None:
    def thread(day: str) -> list[Row]:
        return [(1, "in", f"{day} 10:00", "How do I export?", None, 0.0),
                (1, "out", f"{day} 11:00", "Settings, Data, Export."),
                (1, "in", f"{day} 12:00", "Thanks, that worked!", None, 0.8)]

    cand = only(frames(thread("2026-03-14")))
    assert cand is not None and cand.kind == "survey" and "Thanks, that worked!" in cand.reasons[0]
    assert only(frames(thread("2026-02-20"))) is None  # too old
    assert only(frames(thread("2026-03-19"))) is None  # too fresh


def test_machine_mail_is_never_the_customer_waiting() -> None:
    rows = [
        (1, "in", "2026-03-09 10:00", "How do I export?", None, 0.0),
        (1, "out", "2026-03-09 11:00", "Settings, Data, Export."),
        (1, "in", "2026-03-09 11:01", "I am out of office until Monday.", "auto_reply"),
        (2, "in", "2026-03-09 12:00", "Delivery failed: user unknown", "bounce"),
    ]
    assert detect(frames(rows), SETTINGS, NOW) == []


def test_exclusions_yield_nothing() -> None:
    overdue = [(1, "in", "2026-03-16 10:00", "Where is my refund?")]
    assert only(frames(overdue)) is not None
    assert only(frames(overdue, stopped=[1])) is None
    assert only(frames(overdue, unsubscribed={CUSTOMER: at("2026-03-17 00:00")})) is None
    sent = [{"thread_id": 1, "kind": "follow_up", "status": "sent", "sent_at": at("2026-03-17 09:00"),
             "created_at": at("2026-03-17 08:00")}]
    assert only(frames(overdue, outreach=sent)) is None
    old = [(1, "in", "2026-01-05 10:00", "Where is my refund?")]
    assert only(frames(old)) is None  # quiet longer than lookback_days
    assert "quiet for more than" in explain(1, frames(old), SETTINGS, NOW)["excluded"]


def test_mail_after_now_is_ignored() -> None:
    rows = [(1, "in", "2026-03-16 10:00", "Where is my refund?"), (1, "out", "2026-03-20 10:00", "Done.")]
    assert only(frames(rows)).kind == "follow_up"


def test_priority_rises_with_waiting_and_churn() -> None:
    rows = [
        (1, "in", "2026-03-17 09:00", "Where is my refund?", None, 0.0),
        (2, "in", "2026-03-05 09:00", "Where is my refund?", None, 0.0),
        (3, "in", "2026-03-05 09:00", "Where is my refund? Otherwise I cancel.", None, 0.0),
    ]
    found = {c.thread_id: c.priority for c in detect(frames(rows, customers={2: "b@example.org", 3: "c@example.net"}), SETTINGS, NOW)}
    assert found[3] > found[2] > found[1]
    assert all(0 <= p <= 100 for p in found.values())


def test_explain_lists_every_signal() -> None:
    inp = frames([(1, "in", "2026-03-16 10:00", "Where is my refund?")])
    info = explain(1, inp, SETTINGS, NOW)
    assert set(SIGNAL_COLUMNS) <= set(info)
    assert info["kind"] == "follow_up" and info["waiting_bh"] == 29.0 and info["reasons"]
    assert explain(99, inp, SETTINGS, NOW)["excluded"]


@pytest.mark.parametrize("text", ["Third time I ask. This is a disgrace and I'm furious!"])
def test_reasons_quote_the_customers_words(text: str) -> None:
    rows = [(1, "in", "2026-03-16 10:00", text)]
    cand = only(frames(rows))
    assert cand is not None
    tone_reasons = [r for r in cand.reasons if r.startswith("negative tone")]
    assert tone_reasons, cand.reasons
    quoted = tone_reasons[0].split(": '", 1)[1].rstrip("'").rstrip("\u2026")
    assert quoted and quoted in text


# -- customer value ------------------------------------------------------------------


def _value_case() -> DetectionInput:
    rows = [
        (1, "in", "2026-03-10 09:00", "Where is my refund?", None, 0.0),
        (2, "in", "2026-03-10 09:00", "Where is my refund?", None, 0.0),
    ]
    return frames(rows, customers={1: "Big@Example.com", 2: "small@example.org"})


def test_store_customer_value_raises_priority_and_is_a_reason() -> None:
    inp = _value_case()
    base = {c.thread_id: c.priority for c in detect(inp, SETTINGS, NOW)}
    assert base[1] == base[2]
    inp.customers.loc[inp.customers["address"] == "Big@Example.com", "value"] = 4.0
    found = {c.thread_id: c for c in detect(inp, SETTINGS, NOW)}
    assert found[1].priority == base[1] + SETTINGS.detection.weight_value
    assert "customer value 4" in found[1].reasons
    assert found[2].priority == base[2]


def test_customer_values_csv_overrides_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from outreach.sample import sample_settings

    path = tmp_path / "values.csv"
    path.write_text("address,value\nbig@example.com,2\nsmall@example.org, 4\n", encoding="utf-8")
    settings = sample_settings(detection={"customer_values_csv": str(path)})
    inp = _value_case()
    inp.customers["value"] = 8.0  # the import wins over the store for the addresses it lists
    found = {c.thread_id: c.priority for c in detect(inp, settings, NOW)}
    base = {c.thread_id: c.priority for c in detect(_value_case(), SETTINGS, NOW)}
    weight = settings.detection.weight_value
    assert found[1] == base[1] + round(weight / 2) and found[2] == base[2] + weight
    assert explain(1, inp, settings, NOW)["value"] == 2.0


@pytest.mark.parametrize(
    ("content", "problem"),
    [("who,value\na@b.c,1\n", "address,value"), ("address,value\na@b.c,lots\n", "line 2"), (None, "cannot read")],
)
def test_bad_customer_values_csv_is_a_config_error(tmp_path, content: str | None, problem: str) -> None:  # type: ignore[no-untyped-def]
    from outreach.errors import ConfigError
    from outreach.sample import sample_settings

    path = tmp_path / "values.csv"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    settings = sample_settings(detection={"customer_values_csv": str(path)})
    with pytest.raises(ConfigError, match=problem) as info:
        detect(_value_case(), settings, NOW)
    assert info.value.key == "detection.customer_values_csv"


def test_at_most_one_candidate_per_thread_on_the_sample() -> None:
    found = detect(DetectionInput.from_frames(frames_from_conversations(conversations())), SETTINGS, NOW)
    ids = [c.thread_id for c in found]
    assert len(ids) == len(set(ids)) and len(ids) > 100
