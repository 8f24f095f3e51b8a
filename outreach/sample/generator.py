"""Build the sample support mailbox: conversations with a known situation, then mbox bytes.

Everything is drawn from one ``random.Random(seed)``, never from the clock,
hash order or the email package's random MIME boundaries, so the same seed
gives byte-identical output.

Timing is planted well clear of every detection threshold (at least 1.5×
the SLA or grace, a day either side of the survey window), so the expected
kind of a conversation does not depend on rounding.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from outreach.businesshours import BusinessCalendar, business_hours_between, shift_business_hours
from outreach.sample import phrases as P

__all__ = [
    "SAMPLE_AS_OF",
    "SAMPLE_INCIDENT",
    "SAMPLE_TEAM",
    "Conversation",
    "SampleMailbox",
    "SampleMessage",
    "conversations",
    "generate",
    "sample_settings",
]

SAMPLE_AS_OF = datetime(2026, 3, 19, 15, 0, tzinfo=UTC)
"""A Thursday, 15:00 UTC: inside business hours, late in the week."""

_AGENTS = (
    ("Priya Shah", "priya@northwind.example"),
    ("Tomás Ruiz", "tomas@northwind.example"),
    ("Hannah Becker", "hannah@northwind.example"),
    ("Kwame Mensah", "kwame@northwind.example"),
)
SUPPORT_ADDRESS = "support@northwind.example"

SAMPLE_TEAM: dict[str, Any] = {
    "name": "Northwind Support",
    "addresses": [SUPPORT_ADDRESS, *(a for _, a in _AGENTS)],
    "domains": ["northwind.example"],
    "timezone": "UTC",
    "hours": "09:00-17:00",
    "days": ["mon", "tue", "wed", "thu", "fri"],
    "holiday_country": "",
    "agents": [{"name": n, "address": a} for n, a in _AGENTS],
}
"""Team settings that match the sample (``agents`` is extra: names and addresses)."""

SAMPLE_INCIDENT: dict[str, Any] = {
    "name": "checkout outage",
    "start": datetime(2026, 3, 10, 13, 40, tzinfo=UTC),
    "end": datetime(2026, 3, 10, 17, 5, tzinfo=UTC),
    "keywords": ["outage", "down", "not loading", "unavailable", "502", "503"],
}
"""The known incident customers in the sample write about (``detection.incidents``)."""

Situation = str
"""One of the names in :data:`SITUATIONS`."""

SITUATIONS: dict[str, str] = {
    "resolved_happy": "answered, customer thanked us: survey when resolved 1.5–12.5 days ago, else nothing",
    "resolved_neutral": "answered, customer said nothing more: nothing",
    "closed_long_ago": "resolved happily 17+ days ago: nothing",
    "unresolved_past_sla": "customer's last message unanswered past the SLA: follow_up",
    "within_sla": "customer's last message unanswered, SLA not over yet: nothing",
    "broken_promise": "we promised news and went silent past the deadline/grace: follow_up",
    "promise_pending": "we promised news recently, deadline not passed: nothing",
    "waiting_on_customer": "we asked a question, customer silent: nothing",
    "silent_unhappy": "customer negative, we replied, customer quiet 4+ days: check_in",
    "unhappy_answered_recently": "customer negative, we replied under 2 days ago: nothing",
    "repeat_contact": "latest of 3–4 threads about one matter within 12 days: check_in",
    "repeat_contact_earlier": "an earlier thread of a repeat group: nothing",
    "churn_words": "customer said churn words; check_in when answered, follow_up when unanswered past SLA",
    "stalemate": "long negative back-and-forth: call",
    "incident": "unhappy about the known incident: apology",
    "incident_calm": "asked calmly about the incident, then thanked us: survey",
    "auto_reply_only": "only machine mail (out-of-office, bounce): nothing",
}

# How often each situation starts a conversation (repeat groups add 2–3 earlier threads).
_MIX: tuple[tuple[str, float], ...] = (
    ("resolved_happy", 0.17),
    ("resolved_neutral", 0.10),
    ("closed_long_ago", 0.05),
    ("unresolved_past_sla", 0.09),
    ("within_sla", 0.05),
    ("broken_promise", 0.06),
    ("promise_pending", 0.03),
    ("waiting_on_customer", 0.07),
    ("silent_unhappy", 0.07),
    ("unhappy_answered_recently", 0.03),
    ("repeat_contact", 0.025),
    ("churn_words", 0.05),
    ("stalemate", 0.03),
    ("incident", 0.04),
    ("incident_calm", 0.015),
    ("auto_reply_only", 0.02),
)


@dataclass(frozen=True, slots=True)
class SampleMessage:
    """One message of a sample conversation, as a parser should see it.

    Attributes:
        message_id: Message-ID without brackets.
        in_reply_to: Parent Message-ID (may be absent from the mailbox: a missing parent).
        references: Ancestors, oldest first.
        from_name: Display name.
        from_address: Sender address.
        to_address: Recipient address.
        date: Aware UTC datetime.
        sender_tz: Time zone the Date header is written in.
        subject: Subject line.
        reply_text: The new words only (no quotes, no signature).
        body: The full plain-text body (quotes and signature included).
        direction: ``in`` (customer or machine) or ``out`` (staff).
        auto_kind: ``auto_reply`` or ``bounce`` for machine mail, else None.
        html_only: Written as a single text/html part.
        headers: Extra headers (Auto-Submitted...).
    """

    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    from_name: str
    from_address: str
    to_address: str
    date: datetime
    sender_tz: str
    subject: str
    reply_text: str
    body: str
    direction: str
    auto_kind: str | None = None
    html_only: bool = False
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(slots=True)
class Conversation:
    """One thread with its planted truth.

    Attributes:
        customer: The customer's address (for machine-only threads, the machine's).
        customer_name: Display name.
        customer_tz: The customer's time zone, if known.
        situation: Key of :data:`SITUATIONS`.
        expected_kind: What detection should propose, or None.
        topic: Product area (a key of ``phrases.TOPICS``) or "" for machine mail.
        messages: Oldest first.
    """

    customer: str
    customer_name: str
    customer_tz: str | None
    situation: Situation
    expected_kind: str | None
    topic: str
    messages: list[SampleMessage] = field(default_factory=list)

    @property
    def root_message_id(self) -> str:
        """The first message present in the mailbox."""
        return self.messages[0].message_id


@dataclass(frozen=True, slots=True)
class SampleMailbox:
    """What :func:`generate` wrote."""

    mbox_path: Path
    truth_path: Path
    as_of: datetime


@dataclass(slots=True)
class _Customer:
    name: str
    address: str
    tz: str | None
    company: str
    threads: int = 0


class _Builder:
    """Draws conversations; all randomness goes through ``self.rng``."""

    def __init__(self, seed: int, as_of: datetime) -> None:
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.cal = BusinessCalendar.parse(SAMPLE_TEAM["hours"], SAMPLE_TEAM["days"], SAMPLE_TEAM["timezone"])
        self.customers: list[_Customer] = []
        self.used_addresses: set[str] = set()
        self.counter = 0
        self.seed = seed

    # -- small helpers ---------------------------------------------------

    def pick(self, seq: tuple[Any, ...] | list[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def new_customer(self) -> _Customer:
        rng = self.rng
        while True:
            first, last = self.pick(P.FIRST_NAMES), self.pick(P.LAST_NAMES)
            if rng.random() < 0.55:
                domain = self.pick(P.FREEMAIL_DOMAINS)
                local = self.pick((f"{first}.{last}", f"{first}{last[0]}", f"{first[0]}{last}",
                                   f"{first}_{last}{rng.randrange(10, 99)}", f"{last}.{first}"))
                company = ""
            else:
                domain = self.pick(P.COMPANY_DOMAINS)
                local = self.pick((first, f"{first}.{last}", f"{first[0]}.{last}"))
                company = domain.split(".")[0].replace("-", " ").title()
            address = f"{local}@{domain}".lower()
            address = address.replace("é", "e").replace("á", "a")
            if address not in self.used_addresses:
                break
        self.used_addresses.add(address)
        cust = _Customer(f"{first} {last}", address, self.pick(P.CUSTOMER_TIMEZONES), company)
        self.customers.append(cust)
        return cust

    def customer(self) -> _Customer:
        # About one in six conversations comes from someone who wrote before
        # (on another matter), so customers have history across threads.
        eligible = [c for c in self.customers if c.threads == 1]
        if eligible and self.rng.random() < 0.17:
            return self.pick(eligible)
        return self.new_customer()

    def mid(self, domain: str) -> str:
        self.counter += 1
        token = f"{self.rng.getrandbits(48):012x}"
        if domain == "northwind.example":
            return f"{token}.{self.counter}@mail.northwind.example"
        return f"{self.pick(('CA', 'mail', 'msg', ''))}{token}{self.counter}@{self.pick(('mail.', 'mx.', ''))}{domain}"

    def fill(self, text: str, cust: _Customer | None = None, agent: str = "") -> str:
        rng = self.rng
        n = rng.randrange(3, 28)
        values = {
            "order": f"#{rng.randrange(10000, 99999)}",
            "invoice": f"INV-2026-{rng.randrange(100, 9999):04d}",
            "amount": f"{self.pick(('$', '€', '£'))}{rng.randrange(9, 900)}.{self.pick(('00', '50', '99', '20'))}",
            "device": self.pick(P.DEVICES),
            "browser": self.pick(P.BROWSERS),
            "plan": self.pick(P.PLANS),
            "when": self.pick(P.WHEN),
            "when_short": self.pick(("March", "February", "last month", "the 2nd", "Feb 14")),
            "when_de": self.pick(P.GERMAN_WHEN),
            "n": str(n),
            "n2": str(rng.randrange(2, max(3, n))),
            "n4": str(rng.randrange(1000, 9999)),
            "weekday": self.pick(P.WEEKDAYS),
            "weekday_de": self.pick(P.GERMAN_WEEKDAYS),
            "competitor": self.pick(P.COMPETITORS),
            "first": self.pick(P.FIRST_NAMES),
            "tag": self.pick(P.TAGS),
            "agent": agent or "there",
        }
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], m[0]), text)

    def typos(self, text: str) -> str:
        """Make customer text look typed in a hurry (sometimes)."""
        rng = self.rng
        if rng.random() < 0.35:
            return text
        words = text.split(" ")
        for _ in range(rng.randrange(1, 3)):
            i = rng.randrange(len(words))
            w = words[i]
            if len(w) > 4 and w.isalpha():
                j = rng.randrange(1, len(w) - 2)
                words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
        text = " ".join(words)
        if rng.random() < 0.3:
            text = text.replace("I'm ", "im ").replace("don't", "dont").replace("can't", "cant")
        if rng.random() < 0.2:
            text = text.replace(". ", ".  ", 1)
        if rng.random() < 0.15:
            text = text.lower()
        return text

    # -- times -----------------------------------------------------------

    def at_days_ago(self, lo: float, hi: float, *, staff: bool = False) -> datetime:
        moment = self.as_of - timedelta(days=self.rng.uniform(lo, hi))
        if staff:
            return shift_business_hours(moment, self.rng.uniform(0.2, 2.0), self.cal)
        # Customers write mostly in the day, some at night and at weekends.
        hour = self.pick((7, 8, 9, 10, 10, 11, 12, 13, 14, 14, 15, 16, 17, 19, 21, 23))
        placed = moment.replace(hour=hour, minute=self.rng.randrange(60), second=self.rng.randrange(60))
        if placed > self.as_of - timedelta(hours=1):
            placed = placed - timedelta(days=1)
        return placed

    def staff_after(self, moment: datetime, lo: float = 0.3, hi: float = 5.0) -> datetime:
        when = shift_business_hours(moment, self.rng.uniform(lo, hi), self.cal)
        return when + timedelta(seconds=self.rng.randrange(60))

    def bh(self, start: datetime, end: datetime | None = None) -> float:
        series = pd.Series([pd.Timestamp(start)])
        return float(business_hours_between(series, end or self.as_of, self.cal).iloc[0])

    # -- message bodies --------------------------------------------------

    def customer_text(self, cust: _Customer, lines: list[str], *, greet: bool = True) -> str:
        first = cust.name.split()[0]
        parts = []
        greeting = self.pick(P.GREETINGS) if greet else ""
        if greeting:
            parts.append(greeting)
        parts.append(self.typos(" ".join(line for line in lines if line)))
        sign = self.pick(P.SIGN_OFFS)
        parts.append(f"{sign}\n{first}" if sign else first)
        return "\n\n".join(parts)

    def customer_signature(self, cust: _Customer) -> str:
        roll = self.rng.random()
        if roll < 0.25:
            return self.pick(P.MOBILE_SIGNATURES)
        if roll < 0.5 and cust.company:
            return f"--\n{cust.name}\n{self.pick(P.JOB_TITLES)}, {cust.company}\n+44 20 7946 {self.rng.randrange(1000, 9999)}"
        return ""

    def staff_text(self, agent: tuple[str, str], cust: _Customer, core: str, *, empathy: bool = False,
                   german: bool = False) -> str:
        first = cust.name.split()[0]
        if german:
            return f"Hallo {cust.name},\n\n{core}\n\nViele Grüße\n{agent[0].split()[0]}"
        opener = self.pick(P.STAFF_OPENERS)
        lines = [f"{self.pick(('Hi', 'Hello', 'Hey', 'Dear'))} {first},"]
        middle = " ".join(x for x in (self.pick(P.EMPATHY) if empathy else "", opener, core) if x)
        lines.append(middle)
        closer = self.pick(P.STAFF_CLOSERS)
        if closer:
            lines.append(closer)
        lines.append(f"{self.pick(('Best', 'Kind regards', 'Thanks', 'Cheers', 'All the best'))},\n{agent[0].split()[0]}")
        return "\n\n".join(lines)

    @staticmethod
    def staff_signature(agent: tuple[str, str]) -> str:
        return f"--\n{agent[0]}\nCustomer Support · Northwind\nhttps://northwind.example/help"

    @staticmethod
    def quote(prev: SampleMessage) -> str:
        when = prev.date.astimezone(ZoneInfo(prev.sender_tz)) if prev.sender_tz else prev.date
        stamp = when.strftime("%a, %d %b %Y at %H:%M")
        quoted = "\n".join(f"> {line}" if line else ">" for line in prev.body.splitlines())
        return f"On {stamp}, {prev.from_name} <{prev.from_address}> wrote:\n{quoted}"


class _Thread:
    """Accumulates the messages of one conversation, wiring the headers."""

    def __init__(self, b: _Builder, cust: _Customer, topic: str, subject: str, *,
                 missing_parent: bool = False, german: bool = False) -> None:
        self.b = b
        self.cust = cust
        self.topic = topic
        self.subject = subject
        self.german = german
        self.messages: list[SampleMessage] = []
        self.agent = b.pick(_AGENTS)
        self.ghost: str | None = None
        if missing_parent:
            # The customer answers a notification we sent from another system.
            self.ghost = b.mid("northwind.example")
            self.subject = f"Re: {subject}"
        cust.threads += 1

    def _refs(self) -> tuple[str | None, tuple[str, ...]]:
        if not self.messages:
            return (self.ghost, (self.ghost,)) if self.ghost else (None, ())
        parent = self.messages[-1]
        refs = parent.references + (parent.message_id,)
        return parent.message_id, refs[-10:]

    def _reply_subject(self) -> str:
        if not self.messages:
            return self.subject
        prefix = "AW: " if self.german else self.b.pick(("Re: ", "Re: ", "RE: "))
        return self.subject if self.subject.lower().startswith(("re:", "aw:")) else prefix + self.subject

    def customer(self, when: datetime, lines: list[str], *, html_only: bool = False,
                 quote: bool | None = None, raw_text: str | None = None) -> SampleMessage:
        b, cust = self.b, self.cust
        text = raw_text if raw_text is not None else b.customer_text(cust, [b.fill(x, cust, self.agent[0].split()[0]) for x in lines])
        body = text
        sig = b.customer_signature(cust)
        if sig:
            body += "\n\n" + sig
        if self.messages and (quote if quote is not None else b.rng.random() < 0.6):
            body += "\n\n" + b.quote(self.messages[-1])
        irt, refs = self._refs()
        msg = SampleMessage(
            message_id=b.mid(cust.address.split("@")[1]), in_reply_to=irt, references=refs,
            from_name=cust.name, from_address=cust.address, to_address=SUPPORT_ADDRESS,
            date=when, sender_tz=cust.tz or "UTC", subject=self._reply_subject(),
            reply_text=text, body=body, direction="in", html_only=html_only,
        )
        self.messages.append(msg)
        return msg

    def staff(self, when: datetime, core: str, *, empathy: bool = False) -> SampleMessage:
        b = self.b
        agent = self.agent
        text = b.staff_text(agent, self.cust, b.fill(core, self.cust), empathy=empathy, german=self.german)
        body = text + "\n\n" + b.staff_signature(agent)
        if self.messages:
            body += "\n\n" + b.quote(self.messages[-1])
        irt, refs = self._refs()
        from_name, from_address = agent if b.rng.random() < 0.8 else ("Northwind Support", SUPPORT_ADDRESS)
        msg = SampleMessage(
            message_id=b.mid("northwind.example"), in_reply_to=irt, references=refs,
            from_name=from_name, from_address=from_address, to_address=self.cust.address,
            date=when, sender_tz="UTC", subject=self._reply_subject(),
            reply_text=text, body=body, direction="out",
        )
        self.messages.append(msg)
        return msg

    def out_of_office(self, when: datetime) -> SampleMessage:
        b, cust = self.b, self.cust
        text = b.fill(b.pick(P.OOO_BODIES), cust)
        irt, refs = self._refs()
        msg = SampleMessage(
            message_id=b.mid(cust.address.split("@")[1]), in_reply_to=irt, references=refs,
            from_name=cust.name, from_address=cust.address, to_address=self.messages[-1].from_address,
            date=when, sender_tz=cust.tz or "UTC",
            subject=f"{b.pick(('Automatic reply', 'Out of Office', 'Abwesenheitsnotiz'))}: {self.messages[-1].subject}",
            reply_text=text, body=text, direction="in", auto_kind="auto_reply",
            headers=(("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")),
        )
        self.messages.append(msg)
        return msg

    def before_as_of(self) -> bool:
        """Whether every message is safely before ``as_of``."""
        return all(m.date < self.b.as_of - timedelta(minutes=10) for m in self.messages)

    def done(self, situation: str, expected: str | None) -> Conversation:
        if not self.before_as_of():
            raise RuntimeError(f"{situation}: a message is dated after as_of")
        return Conversation(self.cust.address, self.cust.name, self.cust.tz, situation, expected,
                            self.topic, self.messages)


def _lead_in(b: _Builder, sentence: str) -> str:
    if b.rng.random() < 0.45:
        lead = b.pick(P.LEAD_INS)
        if lead.endswith((".", "!")):
            return f"{lead} {sentence}"
        return f"{lead} {sentence[0].lower()}{sentence[1:]}" if not sentence.startswith("I ") else f"{lead} {sentence}"
    return sentence


def _first_lines(b: _Builder, topic: str, *, mood: str = "neutral") -> list[str]:
    bank = P.TOPICS[topic]
    lines = [_lead_in(b, b.pick(bank["openers"]))]
    if b.rng.random() < 0.6:
        lines.append(b.pick(bank["details"]))
    if mood == "angry":
        lines.append(b.pick(P.ANGRY_LINES))
    elif mood == "mild" and b.rng.random() < 0.5:
        lines.append(b.pick(P.MILD_NEGATIVE_LINES))
    if b.rng.random() < 0.7:
        lines.append(b.pick(P.NEUTRAL_ASKS))
    if mood == "neutral":
        lines.append(b.pick(P.NEUTRAL_CLOSERS))
    return lines


def _start(b: _Builder, *, cust: _Customer | None = None, topic: str | None = None,
           german: bool = False, allow_ghost: bool = True) -> _Thread:
    cust = cust or b.customer()
    topic = topic or b.pick(tuple(P.TOPICS))
    subject = b.fill(b.pick(P.TOPICS[topic]["subjects"]), cust)
    ghost = allow_ghost and b.rng.random() < 0.05
    if ghost:
        subject = b.pick((f"Your Northwind order {b.fill('{order}')} has shipped",
                          f"Your invoice {b.fill('{invoice}')} is ready", "Welcome to Northwind"))
    return _Thread(b, cust, topic, subject, missing_parent=ghost, german=german)


def _open(b: _Builder, th: _Thread, when: datetime, *, mood: str = "neutral") -> SampleMessage:
    html = b.rng.random() < 0.08
    return th.customer(when, _first_lines(b, th.topic, mood=mood), html_only=html)


# -- situations ---------------------------------------------------------------


def _resolved(b: _Builder, lo: float, hi: float, situation: str, *, quick: bool = False) -> Conversation:
    """Customer asks, staff answers (maybe after a question), customer thanks."""
    for _ in range(50):
        th = _start(b)
        t = b.as_of - timedelta(hours=b.rng.uniform(3, 6)) if quick else b.at_days_ago(lo, hi)
        _open(b, th, t)
        t = b.staff_after(t, 0.3, 1.2) if quick else b.staff_after(t)
        if not quick and b.rng.random() < 0.3:
            th.staff(t, b.pick(P.TOPICS[th.topic]["questions"]))
            t = t + timedelta(hours=b.rng.uniform(1, 20))
            th.customer(t, [b.pick(P.CUSTOMER_ANSWERS)])
            t = b.staff_after(t)
        th.staff(t, b.pick(P.TOPICS[th.topic]["answers"]))
        t = t + timedelta(hours=b.rng.uniform(0.3, 1.2) if quick else b.rng.uniform(0.5, 26))
        th.customer(t, [b.pick(P.THANKS)], quote=b.rng.random() < 0.5)
        if not quick and b.rng.random() < 0.35:
            t = b.staff_after(t, 0.2, 2)
            th.staff(t, b.pick(P.WELCOMES))
        age = (b.as_of - t) / timedelta(days=1)
        if not th.before_as_of():
            pass
        elif situation == "closed_long_ago" and age >= 17:
            return th.done(situation, None)
        if situation == "resolved_happy":
            if 1.5 <= age <= 12.5:
                return th.done(situation, "survey")
            if 0.05 <= age <= 0.8 or 15.5 <= age:
                return th.done(situation, None)
        th.cust.threads -= 1  # retry the timing with another draw
    raise RuntimeError("could not place a resolved conversation")


def _resolved_happy(b: _Builder) -> Conversation:
    # Mostly inside the survey window, some too fresh or too old to survey.
    roll = b.rng.random()
    if roll < 0.8:
        return _resolved(b, 3, 13, "resolved_happy")
    if roll < 0.9:
        return _resolved(b, 0, 0, "resolved_happy", quick=True)
    return _resolved(b, 17, 28, "resolved_happy")


def _closed_long_ago(b: _Builder) -> Conversation:
    return _resolved(b, 19, 42, "closed_long_ago")


def _resolved_neutral(b: _Builder) -> Conversation:
    th = _start(b)
    t = b.at_days_ago(2, 40)
    _open(b, th, t)
    t = b.staff_after(t)
    th.staff(t, b.pick(P.TOPICS[th.topic]["answers"]))
    if b.rng.random() < 0.25 and t + timedelta(hours=2) < b.as_of:
        th.out_of_office(t + timedelta(minutes=b.rng.randrange(1, 30)))
    return th.done("resolved_neutral", None)


def _unresolved(b: _Builder) -> Conversation:
    german = b.rng.random() < 0.12
    for _ in range(50):
        th = _start(b, german=german, topic="login" if german else None)
        if german:
            th.topic = "login"
        t = b.at_days_ago(3, 14)
        mood = b.pick(("neutral", "neutral", "mild"))
        if german:
            th.customer(t, [], raw_text=f"{b.fill(b.pick(P.GERMAN_CUSTOMER))}\n\nViele Grüße\n{th.cust.name}")
        else:
            _open(b, th, t, mood=mood)
        first_response = german or b.rng.random() < 0.55
        unanswered_from = t
        if not first_response:
            t = b.staff_after(t)
            th.staff(t, b.pick(P.TOPICS[th.topic]["answers"]))
            t = t + timedelta(hours=b.rng.uniform(2, 30))
            if t > b.as_of - timedelta(days=2.5):
                th.cust.threads -= 1
                continue
            th.customer(t, [b.pick(P.NEXT_QUESTIONS)])
            unanswered_from = t
        if b.rng.random() < 0.35:
            nudge_at = t + timedelta(days=b.rng.uniform(1, 3))
            if nudge_at < b.as_of - timedelta(hours=3):
                text = b.pick(P.GERMAN_NUDGES) if german else b.pick(P.NUDGES)
                th.customer(nudge_at, [], raw_text=b.customer_text(th.cust, [text], greet=False))
        sla = 8 if first_response else 16
        if b.bh(unanswered_from) >= 1.5 * sla and th.before_as_of():
            return th.done("unresolved_past_sla", "follow_up")
        th.cust.threads -= 1
    raise RuntimeError("could not place an unanswered conversation")


def _within_sla(b: _Builder) -> Conversation:
    for _ in range(100):
        th = _start(b)
        t = b.as_of - timedelta(hours=b.rng.uniform(0.5, 22))
        _open(b, th, t)
        if b.bh(t) <= 0.6 * 8:
            return th.done("within_sla", None)
        th.cust.threads -= 1
    raise RuntimeError("could not place a within-SLA conversation")


def _promise_text(b: _Builder, deadline: str) -> str:
    core = b.pick(P.PROMISES)
    return re.sub(r"\s+", " ", core.replace("{deadline}", deadline)).replace(" .", ".").strip()


def _broken_promise(b: _Builder) -> Conversation:
    german = b.rng.random() < 0.15
    for _ in range(50):
        th = _start(b, german=german, topic="invoice" if german else None)
        t = b.at_days_ago(5, 20)
        if german:
            th.customer(t, [], raw_text=f"{b.fill(b.pick(P.GERMAN_CUSTOMER))}\n\nDanke und Grüße\n{th.cust.name}")
        else:
            _open(b, th, t, mood=b.pick(("neutral", "mild")))
        t = b.staff_after(t)
        if german:
            th.staff(t, b.fill(b.pick(P.GERMAN_PROMISES)))
        else:
            th.staff(t, _promise_text(b, b.fill(b.pick(P.PROMISE_DEADLINES))), empathy=b.rng.random() < 0.3)
        promised = t
        if b.rng.random() < 0.3 and not german:
            t = t + timedelta(hours=b.rng.uniform(0.5, 5))
            th.customer(t, [], raw_text=b.customer_text(th.cust, [b.pick(("Thanks, looking forward to it.",
                        "Great, thank you!", "Perfect, thanks for the quick reply."))], greet=False))
        # Deadlines name at most a weekday (< 7 days): a full week plus the
        # grace keeps the truth clear of any deadline reading.
        if (b.as_of - promised) >= timedelta(days=7.5) and b.bh(promised) >= 1.5 * 16:
            return th.done("broken_promise", "follow_up")
        th.cust.threads -= 1
    raise RuntimeError("could not place a broken promise")


def _promise_pending(b: _Builder) -> Conversation:
    for _ in range(100):
        th = _start(b)
        t = b.as_of - timedelta(hours=b.rng.uniform(3, 26))
        _open(b, th, t)
        t = b.staff_after(t, 0.2, 1.5)
        if t >= b.as_of - timedelta(minutes=30):
            th.cust.threads -= 1
            continue
        th.staff(t, _promise_text(b, b.pick(("by Monday", "by next week", "tomorrow", ""))))
        if b.bh(t) <= 6:
            return th.done("promise_pending", None)
        th.cust.threads -= 1
    raise RuntimeError("could not place a pending promise")


def _waiting_on_customer(b: _Builder) -> Conversation:
    th = _start(b)
    t = b.at_days_ago(1.5, 25)
    _open(b, th, t)
    t = b.staff_after(t)
    th.staff(t, b.pick(P.TOPICS[th.topic]["questions"]))
    if b.rng.random() < 0.3:
        th.out_of_office(t + timedelta(minutes=b.rng.randrange(1, 20)))
    return th.done("waiting_on_customer", None)


def _unhappy(b: _Builder, lo: float, hi: float, situation: str, expected: str | None) -> Conversation:
    for _ in range(50):
        th = _start(b)
        t = b.at_days_ago(lo, hi)
        _open(b, th, t, mood="angry")
        t = b.staff_after(t)
        th.staff(t, b.pick(P.TOPICS[th.topic]["answers"]), empathy=True)
        quiet = (b.as_of - t) / timedelta(days=1)
        if not th.before_as_of():
            pass
        elif situation == "silent_unhappy" and quiet >= 4.5:
            return th.done(situation, expected)
        elif situation == "unhappy_answered_recently" and quiet <= 2.0:
            return th.done(situation, expected)
        th.cust.threads -= 1
    raise RuntimeError(f"could not place {situation}")


def _silent_unhappy(b: _Builder) -> Conversation:
    return _unhappy(b, 5, 30, "silent_unhappy", "check_in")


def _answered_recently(b: _Builder) -> Conversation:
    return _unhappy(b, 0.5, 1.8, "unhappy_answered_recently", None)


def _repeat(b: _Builder) -> list[Conversation]:
    cust = b.new_customer()
    cust.threads = 99  # never reused for unrelated threads
    topic = b.pick(("invoice", "login", "delivery", "sync", "refund", "export", "mobile app", "integration"))
    keyword = {"invoice": "invoice", "login": "login", "delivery": "delivery", "sync": "sync",
               "refund": "refund", "export": "export", "mobile app": "mobile app",
               "integration": "integration"}[topic]
    count = b.pick((3, 3, 4))
    latest_first = b.as_of - timedelta(days=b.rng.uniform(4.5, 9))
    span = b.rng.uniform(6, 11)
    starts = sorted(latest_first - timedelta(days=span * i / (count - 1)) for i in range(count))
    subjects = (f"{keyword} again", f"{keyword.capitalize()} question", f"Still having {keyword} trouble",
                f"{keyword} - same thing", f"Re-opening: {keyword}", f"{keyword.upper()} help")
    out: list[Conversation] = []
    for i, start in enumerate(starts):
        th = _Thread(b, cust, topic, subjects[(i + b.rng.randrange(2)) % len(subjects)] if i else subjects[1])
        start = start.replace(hour=b.rng.randrange(8, 17))
        latest = i == count - 1
        lines = _first_lines(b, topic)
        if latest:
            lines.insert(0, b.pick(P.THIRD_TIME))
        th.customer(start, lines)
        t = b.staff_after(start)
        th.staff(t, b.pick(P.TOPICS[topic]["answers"]), empathy=latest)
        out.append(th.done("repeat_contact" if latest else "repeat_contact_earlier",
                           "check_in" if latest else None))
    return out


def _churn(b: _Builder) -> Conversation:
    for _ in range(50):
        th = _start(b)
        answered = b.rng.random() < 0.6
        t = b.at_days_ago(3.5, 20)
        lines = _first_lines(b, th.topic, mood=b.pick(("neutral", "mild", "angry")))
        lines.insert(len(lines) - 1, b.pick(P.CHURN))
        th.customer(t, lines)
        if answered:
            t = b.staff_after(t)
            th.staff(t, b.pick(P.TOPICS[th.topic]["answers"]), empathy=True)
            if th.before_as_of():
                return th.done("churn_words", "check_in")
        if b.bh(t) >= 1.5 * 8 and th.before_as_of():
            return th.done("churn_words", "follow_up")
        th.cust.threads -= 1
    raise RuntimeError("could not place a churn conversation")


def _stalemate(b: _Builder) -> Conversation:
    for _ in range(50):
        th = _start(b)
        t = b.at_days_ago(8, 22)
        _open(b, th, t, mood="angry")
        total = b.rng.randrange(9, 14)
        while len(th.messages) < total:
            if th.messages[-1].direction == "in":
                t = b.staff_after(t, 0.5, 4)
                th.staff(t, b.pick(P.STALEMATE_STAFF), empathy=b.rng.random() < 0.4)
            else:
                t = t + timedelta(hours=b.rng.uniform(1, 20))
                th.customer(t, [b.pick(P.STALEMATE_CUSTOMER)], quote=b.rng.random() < 0.4)
        last_in = max(m.date for m in th.messages if m.direction == "in")
        last_out = max(m.date for m in th.messages if m.direction == "out")
        if t < b.as_of - timedelta(hours=2) and (last_out > last_in or b.bh(last_in) >= 24):
            return th.done("stalemate", "call")
        th.cust.threads -= 1
    raise RuntimeError("could not place a stalemate")


def _incident(b: _Builder, calm: bool) -> Conversation:
    th = _start(b, topic="integration", allow_ghost=False)
    th.topic = "checkout"
    th.subject = b.pick(("Checkout not working", "Payments failing??", "Is checkout broken?", "checkout",
                         "Customers can't pay", "Payment page")) if not calm else b.pick(
        ("Checkout question", "Quick check", "Payment page status"))
    start: datetime = SAMPLE_INCIDENT["start"]
    t = start + timedelta(minutes=b.rng.uniform(10, 200 if calm else 1500))
    line = _lead_in(b, b.pick(P.INCIDENT_CALM if calm else P.INCIDENT_ANGRY))
    th.customer(t, [line] + ([b.pick(P.NEUTRAL_ASKS)] if calm else []))
    if calm or b.rng.random() < 0.7:
        t = b.staff_after(t, 0.2, 3)
        th.staff(t, b.pick(P.INCIDENT_STAFF), empathy=not calm)
    if calm:
        t = t + timedelta(hours=b.rng.uniform(0.5, 20))
        th.customer(t, [b.pick(P.THANKS)])
        return th.done("incident_calm", "survey")
    return th.done("incident", "apology")


def _auto_only(b: _Builder) -> Conversation:
    rng = b.rng
    if rng.random() < 0.5:
        cust = b.new_customer()
        cust.threads = 99
        th = _Thread(b, cust, "", "Northwind newsletter — March")
        th.ghost = b.mid("northwind.example")
        th.messages.append(SampleMessage(  # placeholder parent, removed below
            message_id=th.ghost, in_reply_to=None, references=(), from_name="Northwind", from_address=SUPPORT_ADDRESS,
            to_address=cust.address, date=b.as_of, sender_tz="UTC", subject="Northwind newsletter — March",
            reply_text="", body="", direction="out"))
        when = b.at_days_ago(1, 30)
        th.out_of_office(when)
        th.messages.pop(0)
        return th.done("auto_reply_only", None)
    domain = b.pick(P.COMPANY_DOMAINS + P.FREEMAIL_DOMAINS)
    daemon = _Customer("Mail Delivery System", f"mailer-daemon@mx.{domain}", None, "", 99)
    th = _Thread(b, daemon, "", "Undelivered Mail Returned to Sender")
    lost = f"{b.pick(P.FIRST_NAMES).lower()}.{b.pick(P.LAST_NAMES).lower()}@{domain}"
    text = (f"This is the mail system at host mx.{domain}.\n\nI'm sorry to have to inform you that your message "
            f"could not be delivered to one or more recipients.\n\n<{lost}>: host mx.{domain} said: "
            "550 5.1.1 User unknown")
    when = b.at_days_ago(1, 30)
    msg = SampleMessage(
        message_id=b.mid(f"mx.{domain}"), in_reply_to=None, references=(), from_name="Mail Delivery System",
        from_address=daemon.address, to_address=SUPPORT_ADDRESS, date=when, sender_tz="UTC",
        subject="Undelivered Mail Returned to Sender", reply_text=text, body=text, direction="in",
        auto_kind="bounce", headers=(("Auto-Submitted", "auto-replied"), ("X-Bounced-Recipient", lost)))
    th.messages.append(msg)
    return th.done("auto_reply_only", None)


_MAKERS = {
    "resolved_happy": _resolved_happy,
    "resolved_neutral": _resolved_neutral,
    "closed_long_ago": _closed_long_ago,
    "unresolved_past_sla": _unresolved,
    "within_sla": _within_sla,
    "broken_promise": _broken_promise,
    "promise_pending": _promise_pending,
    "waiting_on_customer": _waiting_on_customer,
    "silent_unhappy": _silent_unhappy,
    "unhappy_answered_recently": _answered_recently,
    "churn_words": _churn,
    "stalemate": _stalemate,
    "incident": lambda b: _incident(b, calm=False),
    "incident_calm": lambda b: _incident(b, calm=True),
    "auto_reply_only": _auto_only,
}


def conversations(seed: int = 7, count: int = 320, as_of: datetime = SAMPLE_AS_OF) -> list[Conversation]:
    """Draw ``count`` conversations (threads) with their planted truth.

    Args:
        seed: Same seed, same conversations.
        count: Number of threads (repeat groups count each of their threads).
        as_of: The moment the truth is judged at; all mail is before it.

    Returns:
        Conversations ordered by their first message.
    """
    b = _Builder(seed, as_of)
    plan: list[str] = []
    for name, share in _MIX:
        plan += [name] * max(1, round(share * count))
    b.rng.shuffle(plan)
    out: list[Conversation] = []
    for name in plan:
        if len(out) >= count:
            break
        if name == "repeat_contact":
            out += _repeat(b)
        else:
            out.append(_MAKERS[name](b))
    while len(out) < count:
        out.append(_MAKERS[b.pick(("resolved_happy", "resolved_neutral", "waiting_on_customer"))](b))
    out = out[:count]
    # A cut-off repeat group would leave an "earlier" thread without its latest one.
    latest = {c.customer for c in out if c.situation == "repeat_contact"}
    out = [c for c in out if c.situation != "repeat_contact_earlier" or c.customer in latest]
    while len(out) < count:
        out.append(_resolved_neutral(b))
    out.sort(key=lambda c: (c.messages[0].date, c.messages[0].message_id))
    return out


# -- writing ------------------------------------------------------------------


def _html(text: str) -> str:
    from html import escape

    paras = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    return f"<html><body><div dir=\"ltr\">{paras}</div></body></html>"


def _message_bytes(m: SampleMessage) -> bytes:
    msg = EmailMessage(policy=SMTP.clone(linesep="\n"))
    msg["From"] = f"{m.from_name} <{m.from_address}>" if m.from_name else m.from_address
    msg["To"] = m.to_address
    msg["Subject"] = m.subject
    when = m.date.astimezone(ZoneInfo(m.sender_tz)) if m.sender_tz else m.date
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{m.message_id}>"
    if m.in_reply_to:
        msg["In-Reply-To"] = f"<{m.in_reply_to}>"
    if m.references:
        msg["References"] = " ".join(f"<{r}>" for r in m.references)
    for key, value in m.headers:
        msg[key] = value
    msg["MIME-Version"] = "1.0"
    if m.auto_kind == "bounce":
        return _bounce_bytes(msg, m)
    if m.html_only:
        msg.set_content(_html(m.body), subtype="html", cte="quoted-printable")
    else:
        msg.set_content(m.body, cte="quoted-printable" if not m.body.isascii() else "7bit")
    return msg.as_bytes()


def _bounce_bytes(msg: EmailMessage, m: SampleMessage) -> bytes:
    boundary = f"bounce-{m.message_id.split('@')[0]}"
    lost = dict(m.headers).get("X-Bounced-Recipient", "")
    head = msg.as_bytes().split(b"\n\n", 1)[0].decode()
    head = "\n".join(line for line in head.splitlines() if not line.startswith(("Content-", "MIME-Version")))
    parts = [
        f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n{m.body}\n",
        f"--{boundary}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; {m.from_address.split('@')[1]}\n\n"
        f"Final-Recipient: rfc822; {lost}\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n",
        f"--{boundary}\nContent-Type: text/rfc822-headers\n\nFrom: Northwind Support <{SUPPORT_ADDRESS}>\n"
        f"To: {lost}\nSubject: Northwind newsletter — March\n",
        f"--{boundary}--\n",
    ]
    text = (f"{head}\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status;\n"
            f" boundary=\"{boundary}\"\n\n" + "".join(parts))
    return text.encode("utf-8")


def _malformed(rng: random.Random, as_of: datetime) -> list[tuple[datetime, bytes]]:
    """Raw messages a parser must quarantine (no usable sender, no structure, or bad charset)."""
    when = as_of - timedelta(days=3)
    stamp = format_datetime(when)
    truncated = (
        f"Received: from mx.brightleaf.example (mx.brightleaf.example [192.0.2.17])\n"
        f"\tby mail.northwind.example with ESMTPS id {rng.getrandbits(32):08x}\n"
        f"Message-ID: <{rng.getrandbits(40):010x}@brightleaf.example>\nSubject: Re: invoice INV-2026-0"
    ).encode()
    garbage = bytes(rng.getrandbits(8) for _ in range(600)).replace(b"\n", b"\x00").replace(b"From ", b"Frxm ")
    bad_charset = (
        f"From: =?x-unknown-7?B?{'SGVsbG8='}?= <>\nTo: {SUPPORT_ADDRESS}\nSubject: =?x-unknown-7?Q?=E4=F6?=\n"
        f"Date: {stamp}\nMessage-ID: <{rng.getrandbits(40):010x}@quillandink.example>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=\"x-unknown-7\"\nContent-Transfer-Encoding: 8bit\n\n"
    ).encode() + bytes([0xE4, 0xF6, 0xFC, 0x81, 0x8D, 0x90, 0x9D]) * 20 + b"\n"
    headerless = b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(300)).replace(b"\n", b"\x01")
    return [(when - timedelta(hours=i * 7), raw) for i, raw in enumerate((truncated, garbage, bad_charset, headerless))]


def _mbox_entry(sender: str, when: datetime, raw: bytes) -> bytes:
    stamp = when.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
    lines = raw.split(b"\n")
    # mboxrd quoting: body lines that look like separators get a '>'.
    quoted = [b">" + line if re.match(rb"^>*From ", line) else line for line in lines]
    body = b"\n".join(quoted).rstrip(b"\n")
    return f"From {sender} {stamp}\n".encode() + body + b"\n\n"


def generate(out_dir: Path, *, seed: int = 7, conversations: int = 320, as_of: datetime = SAMPLE_AS_OF) -> SampleMailbox:
    """Write ``sample.mbox`` and ``sample_truth.json`` to ``out_dir``.

    Args:
        out_dir: Folder to write to (created).
        seed: Same seed, byte-identical files.
        conversations: Number of threads.
        as_of: The moment the truth is judged at.

    Returns:
        Where the files are and the ``as_of`` they are judged at.
    """
    convs = _conversations(seed, conversations, as_of)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: list[tuple[datetime, str, bytes]] = []
    for conv in convs:
        for m in conv.messages:
            entries.append((m.date, m.message_id, _mbox_entry(m.from_address, m.date, _message_bytes(m))))
    bad = _malformed(random.Random(seed * 7919 + 1), as_of)
    for i, (when, raw) in enumerate(bad):
        entries.append((when, f"~malformed{i}", _mbox_entry("MAILER-DAEMON", when, raw)))
    entries.sort(key=lambda e: (e[0], e[1]))
    mbox_path = out_dir / "sample.mbox"
    mbox_path.write_bytes(b"".join(e[2] for e in entries))
    truth = {
        "as_of": as_of.isoformat(),
        "seed": seed,
        "team": SAMPLE_TEAM,
        "incidents": [{**SAMPLE_INCIDENT, "start": SAMPLE_INCIDENT["start"].isoformat(),
                       "end": SAMPLE_INCIDENT["end"].isoformat()}],
        "threads": [
            {
                "root_message_id": c.root_message_id,
                "message_ids": [m.message_id for m in c.messages],
                "customer": c.customer,
                "situation": c.situation,
                "expected_kind": c.expected_kind,
                "topic": c.topic,
            }
            for c in convs
        ],
        "malformed": len(bad),
    }
    truth_path = out_dir / "sample_truth.json"
    truth_path.write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return SampleMailbox(mbox_path=mbox_path, truth_path=truth_path, as_of=as_of)


_conversations = conversations


def sample_settings(**overrides: Any) -> Any:
    """Settings that match the sample: its team, hours and known incident.

    Args:
        overrides: Extra top-level sections merged in (``detection={...}``).

    Returns:
        A :class:`outreach.settings.Settings`.
    """
    from outreach.settings import Settings

    team = {k: v for k, v in SAMPLE_TEAM.items() if k != "agents"}
    detection = {"incidents": [SAMPLE_INCIDENT], **overrides.pop("detection", {})}
    return Settings(team={**team, **overrides.pop("team", {})}, detection=detection, **overrides)
