"""Turn sample conversations into the frames detection reads (no parser, no store).

The frames have the columns documented in :mod:`outreach.signals`, built the
way the store builds them: thread times count only human mail, the thread's
customer is its first human sender that is not staff.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from outreach.sample.generator import Conversation

__all__ = ["frames_from_conversations"]


def frames_from_conversations(
    convs: Sequence[Conversation], *, first_thread_id: int = 1
) -> dict[str, pd.DataFrame]:
    """Frames ``messages``, ``threads``, ``customers`` and ``outreach`` for ``convs``.

    Args:
        convs: Conversations; thread ids are given in order from ``first_thread_id``.
        first_thread_id: Id of the first thread (message ids count from 1).

    Returns:
        A dict of frames, thread ``i`` being ``convs[i - first_thread_id]``.
    """
    rows: dict[str, list[object]] = {
        k: [] for k in ("id", "thread_id", "direction", "from_address", "date", "subject", "reply_text", "auto_kind")
    }
    customers: dict[str, str | None] = {}
    thread_rows: dict[str, list[object]] = {"id": [], "customer": [], "subject": []}
    mid = 0
    for offset, conv in enumerate(convs):
        tid = first_thread_id + offset
        for m in conv.messages:
            mid += 1
            rows["id"].append(mid)
            rows["thread_id"].append(tid)
            rows["direction"].append(m.direction)
            rows["from_address"].append(m.from_address)
            rows["date"].append(m.date)
            rows["subject"].append(m.subject)
            rows["reply_text"].append(m.reply_text)
            rows["auto_kind"].append(m.auto_kind)
        thread_rows["id"].append(tid)
        thread_rows["customer"].append(conv.customer)
        thread_rows["subject"].append(conv.messages[0].subject)
        customers.setdefault(conv.customer, conv.customer_tz)
    messages = pd.DataFrame(rows)
    messages["date"] = pd.to_datetime(messages["date"], utc=True)
    messages["auto_kind"] = messages["auto_kind"].astype(object)

    human = messages["auto_kind"].isna()
    cin = messages[human & (messages["direction"] == "in")].groupby("thread_id")["date"]
    cout = messages[messages["direction"] == "out"].groupby("thread_id")["date"]
    threads = pd.DataFrame(thread_rows).set_index("id")
    threads["message_count"] = messages.groupby("thread_id").size()
    threads["first_customer_at"] = cin.min()
    threads["last_customer_at"] = cin.max()
    threads["first_staff_at"] = cout.min()
    threads["last_staff_at"] = cout.max()
    threads["last_message_at"] = messages.groupby("thread_id")["date"].max()
    threads["automation_stopped"] = False
    threads = threads.reset_index()

    return {"messages": messages, "threads": threads, "customers": customers_frame(customers), "outreach": no_outreach()}


def customers_frame(timezones: Mapping[str, str | None]) -> pd.DataFrame:
    """The ``customers`` frame: each address at normal value, never unsubscribed.

    Args:
        timezones: Customer address -> IANA time zone (None: the team's).
    """
    return pd.DataFrame(
        {
            "address": list(timezones),
            "value": 1.0,
            "timezone": pd.Series(list(timezones.values()), dtype=object),
            "unsubscribed_at": pd.Series([pd.NaT] * len(timezones), dtype="datetime64[ns, UTC]"),
        }
    )


def no_outreach() -> pd.DataFrame:
    """An ``outreach`` frame with its columns and nothing sent or drafted yet."""
    return pd.DataFrame(
        {
            "thread_id": pd.Series([], dtype="int64"),
            "kind": pd.Series([], dtype=object),
            "status": pd.Series([], dtype=object),
            "sent_at": pd.Series([], dtype="datetime64[ns, UTC]"),
            "created_at": pd.Series([], dtype="datetime64[ns, UTC]"),
        }
    )
