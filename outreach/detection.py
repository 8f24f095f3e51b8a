"""Decide who to reach out to, with what kind, how urgently, and why.

One candidate per thread at most. The kind follows a fixed precedence,
strongest need first:

1. ``call`` — stalemate: a long back-and-forth whose tone stays negative.
   Email has failed; a person should phone.
2. ``apology`` — the customer was hit by a known incident and is unhappy.
3. ``follow_up`` — we owe an answer: the customer's last message is
   unanswered past the SLA, or our promise of news went past its deadline.
   Churn words in an unanswered thread land here too: answering is the care.
4. ``check_in`` — churn or escalation words, silence after our reply to a
   negative message, silence after a reply that only acknowledged a mildly
   negative one (a fault report met with "thanks, we have noted it"), or the
   latest of repeated contacts on one matter.
5. ``survey`` — resolved with the customer's thanks, inside the survey window.

Nothing is proposed for a thread whose customer is still inside the SLA
(the normal queue answers it), that is excluded (see
:func:`outreach.signals.compute_signals`: unsubscribed, automation stopped,
outreach already sent, quiet beyond the lookback) or that fits no kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from outreach.models import Candidate, CandidateKind
from outreach.settings import Settings
from outreach.signals import SIGNAL_COLUMNS, DetectionInput, compute_signals
from outreach.tone import score_texts

__all__ = ["PRECEDENCE", "DetectionInput", "detect", "explain", "kinds_for"]

PRECEDENCE: tuple[CandidateKind, ...] = ("call", "apology", "follow_up", "check_in", "survey")
_QUOTE_MAX = 80


def kinds_for(sig: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Which kinds each thread qualifies for, and the one chosen (``kind``, "" for none).

    Args:
        sig: Output of :func:`compute_signals`.
        settings: For the negative-tone threshold.

    Returns:
        Boolean columns per kind, ``blocked`` (excluded or still inside the SLA) and ``kind``.
    """
    neg = settings.detection.negative_threshold
    out = pd.DataFrame(index=sig.index)
    out["call"] = sig["stalemate"]
    out["apology"] = (sig["incident"] != "") & (sig["worst_tone"] < neg).fillna(False)
    out["follow_up"] = sig["overdue"] | sig["promise_broken"]
    out["check_in"] = sig["churn"] | sig["silent_unhappy"] | sig["repeat"] | sig["concern"]
    out["survey"] = sig["survey_due"]
    out = out.fillna(False).astype(bool)
    out["blocked"] = (sig["excluded"] != "") | sig["within_sla"]
    choice = np.select([out[k].to_numpy() for k in PRECEDENCE], list(PRECEDENCE), default="")
    out["kind"] = np.where(out["blocked"], "", choice)
    return out


def _priorities(sig: pd.DataFrame, kinds: pd.Series, settings: Settings) -> pd.Series:
    det = settings.detection
    base = kinds.map(lambda k: det.priority_base.get(k, 0.0)).astype(float)
    waited = np.fmax(
        (sig["waiting_bh"] / sig["sla_hours"]).fillna(0.0),
        np.where(sig["promise_broken"], (sig["promise_bh"] / det.promise_grace_hours).fillna(0.0), 0.0),
    )
    wait = np.clip(waited, 0, 3) / 3 * det.weight_wait
    tone = np.clip(-sig["worst_tone"].fillna(0.0), 0, 1) * det.weight_tone
    churn = np.where(sig["churn"], det.weight_churn, 0.0)
    repeat = np.clip(sig["repeat_count"].astype(float) - 1, 0, 3) / 3 * det.weight_repeat
    value = np.clip(np.log2(sig["value"].astype(float).clip(lower=1e-6)), 0, 2) / 2 * det.weight_value
    total = base + wait + tone + churn + repeat + value
    return total.clip(0, 100).round().astype(int)


def detect(inp: DetectionInput, settings: Settings, now: datetime) -> list[Candidate]:
    """Candidates for outreach, highest priority first.

    Args:
        inp: The store's frames.
        settings: Thresholds and weights (``settings.detection``), business hours (``settings.team``).
        now: The moment to judge at.

    Returns:
        At most one candidate per thread, sorted by priority (then thread id).
    """
    sig = compute_signals(inp, settings, now)
    kinds = kinds_for(sig, settings)["kind"]
    chosen = sig[kinds != ""]
    if chosen.empty:
        return []
    kind = kinds[kinds != ""]
    prio = _priorities(chosen, kind, settings)
    phrases = _fill_phrases(chosen)
    records = chosen.to_dict("index")
    found = [
        Candidate(
            thread_id=int(tid),
            customer=str(row["customer"] or ""),
            kind=kind.at[tid],
            priority=int(prio.at[tid]),
            reasons=_reasons(row, kind.at[tid], settings, phrases.get(int(tid))),
        )
        for tid, row in records.items()
    ]
    found.sort(key=lambda c: (-c.priority, c.thread_id))
    return found


def explain(thread_id: int, inp: DetectionInput, settings: Settings, now: datetime) -> dict[str, object]:
    """Every signal of one thread, the kinds it qualifies for, and the decision.

    Args:
        thread_id: The thread.
        inp: The store's frames.
        settings: As for :func:`detect`.
        now: As for :func:`detect`.

    Returns:
        ``thread_id``, each signal (plain JSON-able values), ``qualifies`` (kinds),
        ``blocked``, ``kind`` (or None), ``priority`` and ``reasons``; just
        ``thread_id`` and ``excluded`` when the thread has no mail up to ``now``.
    """
    sig = compute_signals(inp, settings, now)
    if thread_id not in sig.index:
        return {"thread_id": thread_id, "excluded": "no mail in this thread up to now"}
    kinds = kinds_for(sig, settings)
    row = sig.loc[thread_id]
    result: dict[str, object] = {"thread_id": int(thread_id)}
    for column in SIGNAL_COLUMNS:
        result[column] = _plain(row[column])
    result["qualifies"] = [k for k in PRECEDENCE if bool(kinds.at[thread_id, k])]
    result["blocked"] = bool(kinds.at[thread_id, "blocked"])
    kind = kinds.at[thread_id, "kind"]
    result["kind"] = kind or None
    if kind:
        one = sig.loc[[thread_id]]
        result["priority"] = int(_priorities(one, pd.Series([kind], index=one.index), settings).iloc[0])
        result["reasons"] = _reasons(row, kind, settings, _fill_phrases(one).get(thread_id))
    else:
        result["priority"] = None
        result["reasons"] = []
    return result


def _plain(value: Any) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if value is pd.NaT:
        return None
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else round(float(value), 4)
    return value


def _fill_phrases(rows: pd.DataFrame) -> dict[int, str]:
    """The worst sentence per thread, re-scoring only where the tone came from a cache."""
    missing = rows[(rows["worst_phrase"] == "") & (rows["worst_tone"] < 0)]
    phrases = {int(t): str(p) for t, p in rows["worst_phrase"].items() if p}
    if not missing.empty:
        tones = score_texts([str(t) for t in missing["worst_text"]])
        for tid, tone in zip(missing.index, tones, strict=True):
            phrases[int(tid)] = tone.phrase
    return phrases


def _num(value: float) -> str:
    # A real minus sign reads better in an agent's list than a hyphen.
    return f"{value:+.2f}".replace("-", "\u2212")


def _quote(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _QUOTE_MAX else text[: _QUOTE_MAX - 1].rstrip() + "\u2026"


def _hours(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")


def _reasons(row: Mapping[str, Any], kind: str, settings: Settings, phrase: str | None) -> list[str]:
    """Sentences quoting the evidence, the one that decided the kind first."""
    det = settings.detection
    neg = det.negative_threshold
    lead: list[str] = []
    if kind == "call":
        lead.append(
            f"{int(row['n_messages'])} messages back and forth "
            f"({int(row['n_in'])} from the customer), tone still negative ({_num(row['last_in_tone'])})"
        )
    if kind == "apology":
        lead.append(f"wrote about the {row['incident']}: '{_quote(row['incident_quote'])}'")
    if row["overdue"]:
        which = "first reply" if row["sla_kind"] == "first" else "next reply"
        lead.append(
            f"customer's last message unanswered for {_hours(row['waiting_bh'])} business hours "
            f"({which} due within {_hours(row['sla_hours'])})"
        )
    if row["promise_broken"]:
        when = pd.Timestamp(row["promise_at"]).strftime("%a %d %b")
        lead.append(
            f"we promised '{_quote(row['promise_quote'])}' on {when} and sent nothing since "
            f"({_hours(row['promise_bh'])} business hours)"
        )
    if row["churn"]:
        lead.append(f"said '{row['churn_phrase']}': '{_quote(row['churn_quote'])}'")
    if row["repeat"]:
        topic = str(row["repeat_topic"]).removeprefix("subject: ")
        lead.append(
            f"{int(row['repeat_count'])} contacts about '{topic}' in {max(row['repeat_days'], 0):.0f} days"
        )
    if row["silent_unhappy"]:
        lead.append(f"quiet for {row['quiet_days']:.0f} days after our reply to a negative message")
    if row["concern"]:
        lead.append(
            f"quiet for {row['quiet_days']:.0f} days after a reply that only acknowledged their message "
            f"('{_quote(row['acknowledged_only'])}')"
        )
    if kind == "survey":
        age = (pd.Timestamp.now(tz="UTC") if pd.isna(row["resolved_at"]) else row["resolved_at"])
        lead.append(
            f"resolved on {pd.Timestamp(age).strftime('%a %d %b')} with thanks "
            f"({_num(row['last_in_tone'])}): '{_quote(row['last_in_phrase'] or row['last_in_text'])}'"
        )
    extra: list[str] = []
    if kind != "survey" and pd.notna(row["worst_tone"]) and row["worst_tone"] < neg:
        extra.append(f"negative tone {_num(row['worst_tone'])}: '{_quote(phrase or row['worst_text'])}'")
    elif row["concern"]:
        extra.append(f"mildly negative tone {_num(row['worst_tone'])}: '{_quote(phrase or row['worst_text'])}'")
    if row["value"] > 1:
        extra.append(f"customer value {row['value']:g}")
    return lead + extra
