"""Per-thread signals from the store's frames, computed column-wise with pandas.

Input frames (:class:`DetectionInput`), the columns read:

``messages``
    ``id`` (int), ``thread_id`` (int), ``direction`` (``'in'`` customer or
    machine, ``'out'`` staff), ``from_address`` (str), ``date``
    (``datetime64[ns, UTC]``), ``subject`` (str), ``reply_text`` (str: the
    new words only), ``auto_kind`` (None or ``'auto_reply'|'bounce'|'bulk'``).
    Optional ``tone`` (float, a cached score): when present and not null the
    text is not scored again.
``threads``
    ``id``, ``customer``, ``subject``, ``message_count``, ``first_customer_at``,
    ``last_customer_at``, ``first_staff_at``, ``last_staff_at``,
    ``last_message_at``, ``automation_stopped`` (bool). Times are recomputed
    from ``messages`` (so ``now`` in the past works); ``customer``,
    ``subject`` and ``automation_stopped`` are taken from here.
``customers``
    ``address``, ``value`` (float, 1 = normal), ``timezone`` (str or None),
    ``unsubscribed_at`` (UTC or NaT). ``bounced_at`` is honoured when present.
``outreach`` (our drafts)
    ``thread_id``, ``kind``, ``status``, ``sent_at``, ``created_at``.

Output of :func:`compute_signals`: one row per thread that has any mail up to
``now``, indexed by thread id, with the columns listed in
:data:`SIGNAL_COLUMNS` (each explained there). Machine mail (``auto_kind``
set) never counts as the customer's words or as a customer message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from outreach.acknowledgement import acknowledgement_only
from outreach.businesshours import BusinessCalendar, business_hours_between
from outreach.errors import ConfigError
from outreach.settings import Settings
from outreach.tone import score_texts

__all__ = ["SIGNAL_COLUMNS", "DetectionInput", "compute_signals", "customer_values", "normalise_subject"]

SIGNAL_COLUMNS: dict[str, str] = {
    "customer": "the thread's customer address",
    "subject": "the thread's subject",
    "value": "customer value (1 = normal)",
    "n_messages": "human messages (customer and staff)",
    "n_in": "customer messages (machine mail excluded)",
    "n_out": "staff messages",
    "n_auto": "machine messages (auto-replies, bounces, bulk)",
    "first_in_at": "first customer message",
    "last_in_at": "last customer message",
    "first_out_at": "first staff message",
    "last_out_at": "last staff message",
    "last_human_at": "last human message of either side",
    "last_from": "'in' or 'out': who wrote the last human message",
    "last_in_text": "the customer's last words",
    "last_in_tone": "tone score of the customer's last message",
    "last_in_phrase": "the sentence carrying that tone",
    "worst_tone": "most negative tone of any customer message",
    "worst_phrase": "its sentence",
    "worst_text": "its text (to re-score when the tone was cached)",
    "first_in_tone": "tone of the customer's first message",
    "neg_share": "share of customer messages below the negative threshold",
    "thanks_after_staff": "the customer's last message follows ours, is positive and asks nothing",
    "closing": "thanks_after_staff and nobody wrote since: nothing to answer",
    "unanswered": "the customer wrote last and it needs an answer",
    "unanswered_since": "first customer message after our last reply",
    "sla_kind": "'first' (we never replied) or 'next'",
    "sla_hours": "the SLA that applies, in business hours",
    "waiting_bh": "business hours the customer has waited (unanswered only)",
    "overdue": "unanswered past the SLA",
    "within_sla": "unanswered, SLA not over yet (the normal queue has it)",
    "promise": "our last message promises news",
    "promise_quote": "the sentence with the promise",
    "promise_at": "when we promised",
    "promise_bh": "business hours since the promise",
    "promise_deadline": "deadline named in the promise ('by Friday'), if any",
    "promise_broken": "promise open past its deadline, or past the grace without one",
    "staff_question": "our last message asks the customer something",
    "staff_question_text": "the question",
    "churn": "the customer used churn or escalation words",
    "churn_phrase": "the words matched",
    "churn_quote": "the sentence around them",
    "incident": "name of the known incident the customer wrote about ('' if none)",
    "incident_quote": "the customer's sentence about it",
    "repeat_count": "threads by this customer on the same matter within the window (this one included)",
    "repeat_topic": "the shared matter or subject",
    "repeat_days": "days between the first and this contact",
    "repeat": "this is the latest of >= repeat_min_contacts recent contacts on one matter",
    "quiet_days": "days since our last reply (when we wrote last)",
    "silent_unhappy": "negative customer, we replied, quiet for quiet_days",
    "acknowledged_only": "our last reply only acknowledged the customer (its first sentence), '' otherwise",
    "concern": "mildly negative customer, our reply only acknowledged it, quiet for quiet_days",
    "stalemate": "long back-and-forth whose tone stays negative",
    "resolved": "ended in the customer's thanks",
    "resolved_at": "when it ended",
    "survey_due": "resolved within the survey window and not surveyed yet",
    "reached_out": "we sent outreach after the customer's last message",
    "excluded": "why the thread yields nothing regardless of signals ('' if not)",
}

_DAY = pd.Timedelta(days=1)
_SUBJECT_PREFIX_RE = re.compile(r"^(?:\s*(?:re|fwd?|aw|wg|sv|antw|tr|rif)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS_DE = ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag")
_DEADLINE_RE = (
    r"(?i)\b(?:by|until|before|on|bis|am|zum)\s+(?:(?:the\s+)?end\s+of\s+)?(?P<wd>"
    + "|".join(_WEEKDAYS_EN + _WEEKDAYS_DE)
    + r")\b|\b(?P<tomorrow>tomorrow|morgen)\b|\b(?P<today>today|end of (?:the )?day|heute)\b"
    r"|\b(?P<week>end of (?:the|this) week|ende der woche)\b"
)


@dataclass(slots=True)
class DetectionInput:
    """The frames detection works on (see the module docstring for columns)."""

    messages: pd.DataFrame
    threads: pd.DataFrame
    customers: pd.DataFrame = field(default_factory=pd.DataFrame)
    outreach: pd.DataFrame = field(default_factory=pd.DataFrame)

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> DetectionInput:
        """Build from a dict such as ``Store.frames()`` returns (extra frames ignored)."""
        return cls(
            messages=frames["messages"],
            threads=frames["threads"],
            customers=frames.get("customers", pd.DataFrame()),
            outreach=frames.get("outreach", pd.DataFrame()),
        )


def normalise_subject(subjects: pd.Series) -> pd.Series:
    """Lower-case subjects without reply/forward prefixes, tags and punctuation."""
    s = subjects.fillna("").astype(str).str.replace(_SUBJECT_PREFIX_RE, "", regex=True)
    s = s.str.replace(r"\[[^\]]*\]", " ", regex=True).str.lower()
    s = s.str.replace(r"[^\w\s]", " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return s


def _phrase_regex(phrases: list[str], *, whole_word: bool = False) -> str | None:
    cleaned = [p.strip().lower() for p in phrases if p and p.strip()]
    if not cleaned:
        return None
    # Longest first so "cancel my subscription" wins over "cancel".
    alternation = "|".join(re.escape(p) for p in sorted(set(cleaned), key=lambda p: (-len(p), p)))
    tail = r"\b" if whole_word else r"\w*"
    return rf"(?i)\b(?:{alternation}){tail}"


def _find(texts: pd.Series, pattern: str) -> pd.DataFrame:
    """First match of ``pattern`` per text (``word``) and the sentence around it (``quote``).

    One plain regex search per text, then string slicing: a single pattern
    that also captured the sentence would backtrack at every position. A
    case-insensitive pattern (``(?i)`` first, phrases in lower case) is run
    case-sensitively on the lower-cased text, about three times faster, where
    lower-casing keeps the text's length (so positions carry over).
    """
    rx = re.compile(pattern)
    lower_rx = re.compile(pattern.removeprefix("(?i)")) if pattern.startswith("(?i)") else None

    def one(text: str) -> tuple[str, str] | None:
        m = None
        if lower_rx is not None:
            low = text.lower()
            if len(low) == len(text):
                m = lower_rx.search(low)
                if m is None:
                    return None
        if m is None:
            m = rx.search(text)
            if m is None:
                return None
        start = max(text.rfind(c, 0, m.start()) for c in ".!?\n") + 1
        ends = [i for i in (text.find(c, m.end()) for c in ".!?\n") if i >= 0]
        end = min(ends) + 1 if ends else len(text)
        return text[m.start() : m.end()], text[start:end].strip().rstrip("\n")

    found = texts.map(one).dropna()
    return pd.DataFrame(
        {"word": [w for w, _ in found], "quote": [q for _, q in found]}, index=found.index, dtype=object
    )


def _ts(moment: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _utc(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True)


def _lookup(keys: pd.Series | pd.Index, table: pd.Series) -> pd.Series:
    """``table``'s value for each key (missing: NaN/NaT), in ``table``'s dtype, indexed like ``keys``.

    Not ``keys.map(table)``: pandas turns an empty ``table`` into float64 first,
    which pandas 3 refuses for datetimes ("Cannot cast DatetimeArray to dtype
    float64"), so every run with no recent thread crashed. ``.array`` (not
    ``.to_numpy()``) keeps a time zone. ``table``'s index must be unique.
    """
    index = keys if isinstance(keys, pd.Index) else keys.index
    return pd.Series(table.reindex(pd.Index(keys)).array, index=index, name=table.name)


def _messages(messages: pd.DataFrame) -> pd.DataFrame:
    """The messages frame with the dtypes the signals rely on, whatever the store returned.

    An empty store yields object columns (and no time zone) for everything;
    ids as int64 and dates as UTC make every later groupby, reindex and
    comparison see the same dtypes with no mail as with plenty.
    """
    msgs = messages.reset_index(drop=True)
    return msgs.assign(
        id=msgs["id"].astype(np.int64),
        thread_id=msgs["thread_id"].astype(np.int64),
        date=_utc(msgs["date"]),
    )


def _tones(texts: pd.Series, cached: pd.Series | None) -> tuple[pd.Series, pd.Series]:
    """Tone score and phrase per text; cached scores are reused (phrase then "")."""
    scores = pd.Series(np.nan, index=texts.index, dtype=float)
    phrases = pd.Series("", index=texts.index, dtype=object)
    todo = texts.index
    if cached is not None:
        known = cached.notna()
        scores[known] = cached[known].astype(float)
        todo = texts.index[~known]
    if len(todo):
        # Identical texts ("Thanks!") are scored once.
        unique = pd.unique(texts.loc[todo].to_numpy())
        tones = score_texts([str(t) for t in unique])
        by_text_score = dict(zip(unique, (t.score for t in tones), strict=True))
        by_text_phrase = dict(zip(unique, (t.phrase for t in tones), strict=True))
        scores.loc[todo] = texts.loc[todo].map(by_text_score).astype(float)
        phrases.loc[todo] = texts.loc[todo].map(by_text_phrase)
    return scores, phrases


def compute_signals(inp: DetectionInput, settings: Settings, now: datetime) -> pd.DataFrame:
    """Every signal of every thread with mail up to ``now``.

    Args:
        inp: The frames.
        settings: Thresholds come from ``settings.detection``, hours from ``settings.team``.
        now: The moment to judge at; later mail is ignored.

    Returns:
        One row per thread (index: thread id) with the :data:`SIGNAL_COLUMNS`.
    """
    det = settings.detection
    now_ts = _ts(now)
    cal = BusinessCalendar.from_team(settings.team)
    horizon = now_ts - pd.Timedelta(days=det.lookback_days + det.repeat_window_days)

    msgs = _messages(inp.messages)
    msgs = msgs[msgs["date"] <= now_ts]
    recent_threads = msgs.loc[msgs["date"] >= horizon, "thread_id"].unique()
    msgs = msgs[msgs["thread_id"].isin(recent_threads)]
    msgs = msgs.sort_values(["thread_id", "date", "id"], kind="stable")
    auto = msgs["auto_kind"].notna() & (msgs["auto_kind"].astype(str) != "")
    human = msgs[~auto]
    text = human["reply_text"].fillna("").astype(str)
    human = human.assign(reply_text=text)
    cust = human[human["direction"] == "in"]
    staff = human[human["direction"] == "out"]

    ids = pd.Index(np.sort(msgs["thread_id"].unique()), name="thread_id")
    sig = pd.DataFrame(index=ids)
    threads = inp.threads.set_index("id") if "id" in inp.threads.columns else inp.threads
    threads = threads[~threads.index.duplicated()]
    sig["customer"] = threads["customer"].reindex(ids)
    sig["subject"] = threads["subject"].reindex(ids).fillna("").astype(str)
    sig["value"] = _values(sig["customer"], inp.customers, det.customer_values_csv)

    g_cust = cust.groupby("thread_id")["date"]
    g_staff = staff.groupby("thread_id")["date"]
    sig["n_messages"] = human.groupby("thread_id").size().reindex(ids, fill_value=0)
    sig["n_in"] = g_cust.size().reindex(ids, fill_value=0)
    sig["n_out"] = g_staff.size().reindex(ids, fill_value=0)
    sig["n_auto"] = msgs[auto].groupby("thread_id").size().reindex(ids, fill_value=0)
    sig["first_in_at"] = g_cust.min().reindex(ids)
    sig["last_in_at"] = g_cust.max().reindex(ids)
    sig["first_out_at"] = g_staff.min().reindex(ids)
    sig["last_out_at"] = g_staff.max().reindex(ids)
    sig["last_human_at"] = sig[["last_in_at", "last_out_at"]].max(axis=1)
    last_any = msgs.groupby("thread_id")["date"].max().reindex(ids)
    out_last = sig["last_out_at"].notna() & (
        sig["last_in_at"].isna() | (sig["last_out_at"] >= sig["last_in_at"])
    )
    sig["last_from"] = np.where(out_last, "out", np.where(sig["last_in_at"].notna(), "in", ""))

    # -- tone of every customer message ----------------------------------
    cached = cust["tone"] if "tone" in cust.columns else None
    tone, phrase = _tones(cust["reply_text"], cached)
    cust = cust.assign(tone=tone, tone_phrase=phrase)
    neg = det.negative_threshold
    last_in_rows = cust.drop_duplicates("thread_id", keep="last")
    last_in = last_in_rows.set_index("thread_id")
    sig["last_in_text"] = last_in["reply_text"].reindex(ids).fillna("")
    sig["last_in_tone"] = last_in["tone"].reindex(ids)
    sig["last_in_phrase"] = last_in["tone_phrase"].reindex(ids).fillna("")
    worst = cust.sort_values(["thread_id", "tone"], kind="stable").drop_duplicates("thread_id").set_index("thread_id")
    sig["worst_tone"] = worst["tone"].reindex(ids)
    sig["worst_phrase"] = worst["tone_phrase"].reindex(ids).fillna("")
    sig["worst_text"] = worst["reply_text"].reindex(ids).fillna("")
    first_in = cust.drop_duplicates("thread_id", keep="first").set_index("thread_id")
    sig["first_in_tone"] = first_in["tone"].reindex(ids)
    sig["neg_share"] = (cust["tone"] < neg).groupby(cust["thread_id"]).mean().reindex(ids).fillna(0.0)

    # Who wrote the human message just before the customer's last one.
    prev_dir = human.groupby("thread_id")["direction"].shift()
    last_in_prev = pd.Series(prev_dir.loc[last_in_rows.index].to_numpy(), index=last_in.index).reindex(ids)
    asks = sig["last_in_text"].str.contains("?", regex=False)
    sig["thanks_after_staff"] = (
        (sig["last_in_tone"] >= det.positive_threshold) & ~asks & (last_in_prev == "out")
    ).fillna(False).astype(bool)
    sig["closing"] = sig["thanks_after_staff"] & (sig["last_from"] == "in")

    # -- owed answers -----------------------------------------------------
    sig["unanswered"] = (sig["last_from"] == "in") & ~sig["closing"]
    last_out_map = _lookup(cust["thread_id"], sig["last_out_at"])
    after = last_out_map.isna() | (cust["date"] > last_out_map)
    sig["unanswered_since"] = cust.loc[after].groupby("thread_id")["date"].min().reindex(ids)
    sig.loc[~sig["unanswered"], "unanswered_since"] = pd.NaT
    sig["sla_kind"] = np.where(sig["n_out"] == 0, "first", "next")
    sig["sla_hours"] = np.where(sig["n_out"] == 0, det.first_response_sla_hours, det.next_response_sla_hours)
    sig["waiting_bh"] = np.nan
    waiting = sig["unanswered"]
    if waiting.any():
        sig.loc[waiting, "waiting_bh"] = business_hours_between(sig.loc[waiting, "unanswered_since"], now_ts, cal)
    sig["overdue"] = waiting & (sig["waiting_bh"] > sig["sla_hours"])
    sig["within_sla"] = waiting & ~sig["overdue"]

    # -- our last message: a promise? a question? ---------------------------
    last_out = staff.drop_duplicates("thread_id", keep="last").set_index("thread_id")
    out_text = last_out["reply_text"]
    promise_re = _phrase_regex(det.promise_phrases)
    sig["promise"] = False
    sig["promise_quote"] = ""
    sig["promise_at"] = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns, UTC]")
    sig["promise_bh"] = np.nan
    sig["promise_deadline"] = pd.Series(pd.NaT, index=ids, dtype="datetime64[ns, UTC]")
    if promise_re and len(out_text):
        quote = _find(out_text, promise_re)["quote"].reindex(out_text.index)
        has = quote.notna()
        open_ = has & (sig["last_from"].reindex(has.index).eq("out") | sig["closing"].reindex(has.index))
        pids = has.index[open_.to_numpy()]
        sig.loc[pids, "promise"] = True
        sig.loc[pids, "promise_quote"] = quote[pids].str.strip()
        sig.loc[pids, "promise_at"] = last_out.loc[pids, "date"]
        if len(pids):
            sig.loc[pids, "promise_bh"] = business_hours_between(sig.loc[pids, "promise_at"], now_ts, cal)
            sig.loc[pids, "promise_deadline"] = _deadlines(
                sig.loc[pids, "promise_quote"], sig.loc[pids, "promise_at"], cal
            )
    deadline = pd.to_datetime(sig["promise_deadline"], utc=True)
    sig["promise_broken"] = sig["promise"] & np.where(
        deadline.notna(),
        (now_ts > deadline) & (sig["promise_bh"] >= 1),
        sig["promise_bh"] > det.promise_grace_hours,
    )
    question = out_text.str.extract(r"([^.!?\n]{1,200}\?)", expand=False)
    sig["staff_question_text"] = question.reindex(ids).fillna("").str.strip()
    sig["staff_question"] = (sig["last_from"] == "out") & (sig["staff_question_text"] != "")

    # -- customer words: churn, incidents -----------------------------------
    sig["churn"] = False
    sig["churn_phrase"] = ""
    sig["churn_quote"] = ""
    churn_re = _phrase_regex(det.churn_phrases)
    if churn_re and len(cust):
        found = _find(cust["reply_text"], churn_re)
        found["thread_id"] = cust.loc[found.index, "thread_id"]
        first = found.drop_duplicates("thread_id").set_index("thread_id")
        sig.loc[first.index, "churn_phrase"] = first["word"].str.lower()
        sig.loc[first.index, "churn_quote"] = first["quote"].str.strip()
        sig["churn"] = (sig["churn_phrase"] != "") & ~sig["closing"]

    sig["incident"] = ""
    sig["incident_quote"] = ""
    after_h = pd.Timedelta(hours=det.incident_after_hours)
    for inc in det.incidents:
        inc_re = _phrase_regex(inc.keywords, whole_word=True)
        if not inc_re:
            continue
        window = (cust["date"] >= _ts(inc.start)) & (cust["date"] <= _ts(inc.end) + after_h)
        if not window.any():
            continue
        hit = _find(cust.loc[window, "reply_text"], inc_re)["quote"]
        hit_threads = pd.Series(hit.to_numpy(), index=cust.loc[hit.index, "thread_id"].to_numpy())
        hit_threads = hit_threads[~hit_threads.index.duplicated()]
        fresh = hit_threads.index[sig.loc[hit_threads.index, "incident"] == ""]
        sig.loc[fresh, "incident"] = inc.name
        sig.loc[fresh, "incident_quote"] = hit_threads[fresh].str.strip()

    # -- repeat contacts ------------------------------------------------------
    _repeat_signals(sig, cust, settings, now_ts)

    # -- silence, stalemate, resolution ----------------------------------------
    sig["quiet_days"] = np.where(sig["last_from"] == "out", (now_ts - sig["last_out_at"]) / _DAY, np.nan)
    pending_promise = sig["promise"] & ~sig["promise_broken"]
    # We wrote last, promised nothing still open, and the customer stayed quiet.
    quiet_after_reply = (sig["last_from"] == "out") & (sig["quiet_days"] >= det.quiet_days) & ~pending_promise
    sig["silent_unhappy"] = (quiet_after_reply & (sig["last_in_tone"] < neg)).fillna(False).astype(bool)
    _concern_signals(sig, quiet_after_reply, out_text, settings)
    sig["stalemate"] = (
        (sig["n_messages"] >= det.stalemate_min_messages)
        & (sig["n_in"] >= 3)
        & (sig["n_out"] >= 3)
        & (sig["last_in_tone"] < neg)
        & (sig["neg_share"] >= det.stalemate_negative_share)
    ).fillna(False).astype(bool)
    sig["resolved"] = sig["thanks_after_staff"] & (
        (sig["last_from"] == "in") | (~sig["staff_question"] & ~sig["promise"])
    )
    sig["resolved_at"] = sig["last_human_at"].where(sig["resolved"])
    age = (now_ts - sig["resolved_at"]) / _DAY
    surveyed = _outreach_threads(inp.outreach, kinds=("survey",), statuses=None)
    sig["survey_due"] = (
        sig["resolved"]
        & (age * 24 >= det.survey_delay_hours)
        & (age <= det.survey_max_age_days)
        & ~sig.index.isin(surveyed)
    ).fillna(False).astype(bool)

    # -- who we must leave alone ----------------------------------------------
    sig["reached_out"] = _reached_out(inp.outreach, sig)
    sig["excluded"] = _exclusions(sig, threads, inp.customers, now_ts, det.lookback_days, last_any)
    return sig[list(SIGNAL_COLUMNS)]


def _concern_signals(
    sig: pd.DataFrame, quiet_after_reply: pd.Series, out_text: pd.Series, settings: Settings
) -> None:
    """Mildly negative, answered with a mere acknowledgement, then quiet: ``concern``.

    Only threads that pass every cheap test get their reply read, so this
    stays a handful of regex matches per run, not one per thread.
    """
    det = settings.detection
    maybe = (
        quiet_after_reply
        & (sig["last_in_tone"] < det.concern_threshold)
        & ~sig["silent_unhappy"]
        & ~sig["staff_question"]
    ).fillna(False).astype(bool)
    sig["acknowledged_only"] = ""
    sig["concern"] = False
    ids = sig.index[maybe.to_numpy()]
    if len(ids) == 0:
        return
    phrases = tuple(det.acknowledgement_phrases)
    quotes = out_text.reindex(ids).fillna("").map(lambda text: acknowledgement_only(text, phrases) or "")
    sig.loc[ids, "acknowledged_only"] = quotes
    sig.loc[ids, "concern"] = (quotes != "").to_numpy()


def customer_values(path: str) -> pd.Series:
    """Customer values from a CSV file with an ``address,value`` header (the ``customer_values_csv`` import).

    Args:
        path: The file (``~`` is expanded).

    Returns:
        Values indexed by lower-cased address (the last row wins for a repeated address).

    Raises:
        ConfigError: The file is missing, lacks the columns, or holds a value that is
            not a number >= 0.
    """
    file = Path(path).expanduser()
    try:
        stamp = file.stat().st_mtime_ns
    except OSError as exc:
        raise ConfigError("detection.customer_values_csv", f"cannot read {file}: {exc.strerror}") from exc
    return _read_values(str(file), stamp).copy()


@lru_cache(maxsize=4)
def _read_values(path: str, _stamp: int) -> pd.Series:
    # Keyed on the modification time too: an edited file is read again.
    key = "detection.customer_values_csv"
    try:
        frame = pd.read_csv(path, dtype={"address": str}, skipinitialspace=True)
    except (OSError, ValueError) as exc:
        raise ConfigError(key, f"cannot read {path} as CSV: {exc}") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if not {"address", "value"} <= set(frame.columns):
        raise ConfigError(key, f"{path} needs the header 'address,value' (found {', '.join(frame.columns)})")
    values = pd.to_numeric(frame["value"], errors="coerce")
    bad = values.isna() | (values < 0)
    if bad.any():
        row = int(bad.to_numpy().argmax()) + 2  # 1-based, after the header
        raise ConfigError(key, f"{path} line {row}: value must be a number >= 0")
    address = frame["address"].fillna("").str.strip().str.lower()
    out = pd.Series(values.astype(float).to_numpy(), index=address.to_numpy())
    out = out[out.index != ""]
    return out[~out.index.duplicated(keep="last")]


def _values(customer: pd.Series, customers: pd.DataFrame, csv_path: str) -> pd.Series:
    """Value per thread's customer: the CSV import where it lists the address, else the store's, else 1."""
    address = customer.fillna("").astype(str).str.lower()
    value = pd.Series(1.0, index=customer.index)
    stored = _customer_column(customers, "value")
    if stored is not None:
        value = address.map(stored).astype(float).fillna(value)
    if csv_path:
        value = address.map(customer_values(csv_path)).astype(float).fillna(value)
    return value


def _customer_column(customers: pd.DataFrame, column: str) -> pd.Series | None:
    if customers is None or customers.empty or column not in customers.columns:
        return None
    frame = customers.dropna(subset=["address"]).drop_duplicates("address", keep="last")
    return frame.set_index(frame["address"].str.lower())[column]


def _deadlines(quotes: pd.Series, at: pd.Series, cal: BusinessCalendar) -> pd.Series:
    """End of the business day a promise names ('by Friday', 'tomorrow'), else NaT."""
    found = quotes.str.extract(_DEADLINE_RE)
    local = pd.to_datetime(at, utc=True).dt.tz_convert(cal.timezone)
    weekday = local.dt.day_of_week
    named = found["wd"].str.lower().map(
        {d: i for i, d in enumerate(_WEEKDAYS_EN)} | {d: i for i, d in enumerate(_WEEKDAYS_DE)}
    )
    ahead = pd.Series(np.nan, index=quotes.index)
    ahead = ahead.where(named.isna(), (named - weekday) % 7)
    ahead = ahead.where(found["week"].isna(), (4 - weekday) % 7)
    ahead = ahead.where(found["tomorrow"].isna(), 1)
    ahead = ahead.where(found["today"].isna(), 0)
    has = ahead.notna()
    out = pd.Series(pd.NaT, index=quotes.index, dtype="datetime64[ns, UTC]")
    if has.any():
        day = local[has].dt.tz_localize(None).dt.normalize() + pd.to_timedelta(ahead[has], unit="D")
        close = day + pd.Timedelta(minutes=cal.close_minute)
        out[has] = close.dt.tz_localize(cal.timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
    return out


def _repeat_signals(sig: pd.DataFrame, cust: pd.DataFrame, settings: Settings, now_ts: pd.Timestamp) -> None:
    det = settings.detection
    sig["repeat_count"] = 0
    sig["repeat_topic"] = ""
    sig["repeat_days"] = np.nan
    sig["repeat"] = False
    base = sig.loc[sig["first_in_at"].notna() & sig["customer"].notna(), ["customer", "subject", "first_in_at"]]
    if base.empty:
        return
    first_text = cust.drop_duplicates("thread_id").set_index("thread_id")["reply_text"].reindex(base.index).fillna("")
    # Lower-cased once: the topic patterns then run case-sensitively (faster than ``(?i)``).
    haystack = base["subject"].str.cat(first_text, sep="\n").str.lower()
    keys = [pd.DataFrame({"thread_id": base.index, "key": "subject: " + normalise_subject(base["subject"]).to_numpy()})]
    for topic, words in det.repeat_topics.items():
        pattern = _phrase_regex(words)
        if pattern:
            hit = haystack.str.contains(pattern.removeprefix("(?i)"), regex=True)
            keys.append(pd.DataFrame({"thread_id": base.index[hit.to_numpy()], "key": topic}))
    long = pd.concat(keys, ignore_index=True)
    long = long[long["key"] != "subject: "]
    long["customer"] = _lookup(long["thread_id"], base["customer"].str.lower())
    long["first"] = _lookup(long["thread_id"], base["first_in_at"])
    # Only customers with enough threads can repeat: keeps the self-join small.
    per_customer = long.groupby("customer")["thread_id"].nunique()
    long = long[_lookup(long["customer"], per_customer) >= det.repeat_min_contacts]
    if long.empty:
        return
    pairs = long.merge(long, on=["customer", "key"], suffixes=("", "_b"))
    window = pd.Timedelta(days=det.repeat_window_days)
    gap = pairs["first"] - pairs["first_b"]
    earlier = pairs[(gap >= pd.Timedelta(0)) & (gap <= window)]
    later = pairs[(gap < pd.Timedelta(0)) & (-gap <= window)]
    counts = earlier.groupby(["thread_id", "key"]).agg(n=("thread_id_b", "nunique"), since=("first_b", "min"))
    counts["has_later"] = counts.index.isin(later.set_index(["thread_id", "key"]).index)
    counts = counts.reset_index().sort_values(["thread_id", "n", "key"], ascending=[True, False, True])
    best = counts.drop_duplicates("thread_id").set_index("thread_id")
    sig.loc[best.index, "repeat_count"] = best["n"].astype(int)
    sig.loc[best.index, "repeat_topic"] = best["key"]
    sig.loc[best.index, "repeat_days"] = (_lookup(best.index, base["first_in_at"]) - best["since"]) / _DAY
    recent = sig.loc[best.index, "first_in_at"] >= now_ts - window
    sig.loc[best.index, "repeat"] = (best["n"] >= det.repeat_min_contacts) & ~best["has_later"] & recent


def _outreach_threads(outreach: pd.DataFrame, kinds: tuple[str, ...] | None, statuses: tuple[str, ...] | None) -> np.ndarray:
    if outreach is None or outreach.empty or "thread_id" not in outreach.columns:
        return np.array([], dtype=np.int64)
    rows = outreach
    if kinds is not None and "kind" in rows.columns:
        rows = rows[rows["kind"].isin(kinds)]
    if statuses is not None and "status" in rows.columns:
        rows = rows[rows["status"].isin(statuses)]
    rows = rows[~rows.get("status", pd.Series("", index=rows.index)).isin(("rejected", "expired"))]
    return rows["thread_id"].dropna().astype(np.int64).unique()


def _reached_out(outreach: pd.DataFrame, sig: pd.DataFrame) -> pd.Series:
    result = pd.Series(False, index=sig.index)
    if outreach is None or outreach.empty or "sent_at" not in outreach.columns:
        return result
    sent = outreach[outreach["status"].eq("sent") & outreach["sent_at"].notna()]
    if sent.empty:
        return result
    last_sent = _utc(sent["sent_at"]).groupby(sent["thread_id"].astype(np.int64)).max().reindex(sig.index)
    return (last_sent.notna() & (sig["last_in_at"].isna() | (last_sent >= sig["last_in_at"]))).astype(bool)


def _exclusions(
    sig: pd.DataFrame,
    threads: pd.DataFrame,
    customers: pd.DataFrame,
    now_ts: pd.Timestamp,
    lookback_days: float,
    last_any: pd.Series,
) -> pd.Series:
    reason = pd.Series("", index=sig.index, dtype=object)

    def mark(mask: pd.Series, text: str) -> None:
        mask = mask.reindex(sig.index).fillna(False).astype(bool) & (reason == "")
        reason[mask] = text

    quiet_since = sig["last_human_at"].fillna(last_any)
    mark(quiet_since < now_ts - pd.Timedelta(days=lookback_days), f"quiet for more than {lookback_days:g} days")
    mark(sig["n_in"] == 0, "no human customer message")
    if "automation_stopped" in threads.columns:
        mark(threads["automation_stopped"].reindex(sig.index).fillna(False).astype(bool), "automation stopped")
    customer = sig["customer"].fillna("").str.lower()
    for column, text in (("unsubscribed_at", "customer unsubscribed"), ("bounced_at", "customer's address bounced")):
        stamps = _customer_column(customers, column)
        if stamps is not None:
            stamps = _utc(stamps)
            mark(customer.map(stamps.notna() & (stamps <= now_ts)).fillna(False), text)
    mark(sig["reached_out"], "we already reached out after the customer's last message")
    return reason
