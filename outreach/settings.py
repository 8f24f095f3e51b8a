"""Settings: one pydantic model per section of ``config/outreach.toml``.

Precedence, lowest first: the defaults below, the TOML file (``--config`` or
``OUTREACH_CONFIG``), then environment variables ``OUTREACH_<SECTION>__<KEY>``.
Secrets (passwords, API keys, signing keys) are read only from the
environment or from Prefect Secret blocks, never from the file.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import tomllib
import types
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as EnvSettingsError

from outreach.errors import ConfigError

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

REPO_ROOT = Path(__file__).resolve().parent.parent


def _check_hours(value: str) -> str:
    match = _HOURS_RE.match(value)
    if not match:
        raise ValueError(f"expected 'HH:MM-HH:MM', got {value!r}")
    start = int(match[1]) * 60 + int(match[2])
    end = int(match[3]) * 60 + int(match[4])
    if end <= start:
        raise ValueError(f"the end of {value!r} must be after its start")
    return value


LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses: the only hosts plain text may go to."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


class Section(BaseModel):
    """Base of every section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", validate_default=True)


STORE_SCHEMES: tuple[str, ...] = ("sqlite", "postgresql", "postgresql+psycopg")


class StoreSettings(Section):
    url: str = Field(
        "sqlite:///data/outreach.db",
        description="Database of the store: sqlite:///PATH or postgresql://USER@HOST/DB "
        "(a password only in OUTREACH_STORE__URL or ~/.pgpass, never here).",
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging only).")

    @field_validator("url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        # Checked here so another database is a config error, not a driver ImportError on first use:
        # the schema, migrations and locking are written for SQLite and PostgreSQL (psycopg 3) only.
        scheme = value.strip().partition(":")[0].lower()
        if scheme not in STORE_SCHEMES:
            raise ValueError(
                f"unsupported database {scheme or value!r}; use sqlite:///PATH or postgresql://USER@HOST/DB "
                f"(schemes: {', '.join(s + '://' for s in STORE_SCHEMES)})"
            )
        return value


class TeamSettings(Section):
    name: str = Field("Support", description="Team name shown in emails and the review app.")
    addresses: list[str] = Field(
        default_factory=lambda: ["support@example.com"],
        description="Addresses whose mail counts as written by staff.",
    )
    domains: list[str] = Field(
        default_factory=list, description="Domains whose every address counts as staff."
    )
    timezone: str = Field("UTC", description="IANA time zone of the team.")
    hours: str = Field("09:00-17:00", description="Business hours, local time.")
    days: list[Weekday] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"], description="Working days."
    )
    holidays: list[date] = Field(default_factory=list, description="Extra non-working dates.")
    holiday_country: str = Field(
        "", description="ISO country code for public holidays (python-holidays); empty: none."
    )

    _tz = field_validator("timezone")(_check_timezone)
    _hours = field_validator("hours")(_check_hours)

    @field_validator("addresses", "domains")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.strip().lower() for v in values]


class ImapSettings(Section):
    host: str = Field("", description="IMAP server host; empty disables IMAP.")
    port: int = Field(993, ge=1, le=65535, description="IMAP port.")
    username: str = Field("", description="Login name.")
    password: SecretStr | None = Field(None, description="Secret: env OUTREACH_IMAP__PASSWORD.")
    password_block: str = Field("", description="Prefect Secret block holding the password.")
    auth: Literal["login", "xoauth2"] = Field("login", description="LOGIN or XOAUTH2.")
    oauth2_token: SecretStr | None = Field(
        None, description="Secret: a fixed XOAUTH2 access token (expires in about an hour; see oauth2_token_url)."
    )
    oauth2_token_block: str = Field("", description="Prefect Secret block holding the token.")
    oauth2_token_url: str = Field(
        "",
        description="Token endpoint to renew XOAUTH2 access tokens from a refresh token "
        "(Gmail: https://oauth2.googleapis.com/token; Microsoft 365: "
        "https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token); empty: use oauth2_token as given.",
    )
    oauth2_client_id: str = Field("", description="OAuth client (application) id, for renewing tokens.")
    oauth2_client_secret: SecretStr | None = Field(
        None, description="Secret: OAuth client secret (none for a public client)."
    )
    oauth2_client_secret_block: str = Field("", description="Prefect Secret block holding the client secret.")
    oauth2_refresh_token: SecretStr | None = Field(None, description="Secret: OAuth refresh token of the mailbox.")
    oauth2_refresh_token_block: str = Field("", description="Prefect Secret block holding the refresh token.")
    oauth2_scope: str = Field(
        "",
        description="Scopes asked for when renewing (Microsoft 365: "
        "'https://outlook.office.com/IMAP.AccessAsUser.All offline_access'; Gmail: empty).",
    )
    ssl: bool = Field(True, description="Implicit TLS (port 993).")
    starttls: bool = Field(False, description="Upgrade a plain connection with STARTTLS.")
    ca_file: str = Field("", description="CA bundle to verify the server; empty: system CAs.")
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], description="Customer mail.")
    sent_folders: list[str] = Field(default_factory=lambda: ["Sent"], description="Staff replies.")
    batch_size: int = Field(500, ge=1, description="Messages fetched per UID FETCH.")
    batch_megabytes: int = Field(
        8,
        ge=1,
        le=1024,
        description="Most megabytes fetched per batch (any source); a larger message is fetched on its own. "
        "Bounds memory when mail carries attachments.",
    )
    parse_workers: int = Field(
        0,
        ge=0,
        description="Processes that parse fetched mail (any source) in parallel; "
        "0: one per CPU (at most 4); 1: parse in the sync process.",
    )
    timeout_seconds: float = Field(60.0, gt=0, description="Socket timeout.")
    idle_seconds: int = Field(
        1500, ge=60, le=1740, description="Re-IDLE before the server's 29-minute limit."
    )
    poll_seconds: int = Field(
        60,
        ge=5,
        le=1740,
        description="For a server without IDLE: how often `outreach watch` asks it for new mail.",
    )

    @property
    def batch_bytes(self) -> int:
        """``batch_megabytes`` in bytes."""
        return self.batch_megabytes * 1024 * 1024

    @field_validator("oauth2_token_url")
    @classmethod
    def _https_token_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme == "https" and parts.hostname:
            return value
        if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
            return value  # a local token service (tests, a sidecar)
        raise ValueError("must be an https:// URL: the refresh token and client secret are sent to it")


class SendgridSettings(Section):
    api_key: SecretStr | None = Field(None, description="Secret: env OUTREACH_SENDGRID__API_KEY.")
    api_key_block: str = Field("", description="Prefect Secret block holding the API key.")
    api_host: str = Field("https://api.sendgrid.com", description="API host (regional, tests).")
    timeout_seconds: float = Field(15.0, gt=0, description="HTTP timeout per request.")
    max_retries: int = Field(5, ge=0, description="Retries for 429, 5xx and network errors.")
    webhook_public_key: str = Field("", description="Event Webhook verification key (base64).")


class SmtpSettings(Section):
    host: str = Field("", description="SMTP server host.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    username: str = Field("", description="Login name; empty: no AUTH.")
    password: SecretStr | None = Field(None, description="Secret: env OUTREACH_SMTP__PASSWORD.")
    ssl: bool = Field(False, description="Implicit TLS (port 465).")
    starttls: bool = Field(True, description="STARTTLS after connecting.")
    timeout_seconds: float = Field(30.0, gt=0, description="Socket timeout.")
    ca_file: str = Field("", description="CA bundle to verify the server; empty: system CAs.")


class OutboxSettings(Section):
    path: str = Field("data/outbox", description="Folder the file outbox writes .eml files to.")


class SenderSettings(Section):
    provider: Literal["sendgrid", "smtp", "outbox"] = Field("outbox", description="Who sends.")
    from_address: str = Field("support@example.com", description="From address of outreach.")
    from_name: str = Field("", description="From name; empty: the signing agent's name.")
    reply_domain: str = Field(
        "example.com", description="Domain of the Reply-To plus-address carrying the reply token."
    )
    reply_local: str = Field("support", description="Local part before '+token' in Reply-To.")
    public_url: str = Field(
        "http://127.0.0.1:8025", description="Base URL of survey and unsubscribe links."
    )
    signing_key: SecretStr | None = Field(
        None, description="Secret: key that signs links (env OUTREACH_SENDER__SIGNING_KEY)."
    )
    signing_key_block: str = Field("", description="Prefect Secret block holding the signing key.")
    batch_size: int = Field(100, ge=1, description="Drafts claimed per send batch.")
    concurrency: int = Field(
        4, ge=1, le=64, description="Provider calls in flight at once while sending a batch."
    )

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        # Every survey and unsubscribe link starts with it: a typo would break them all, unseen.
        if not value:
            return value
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            parts, port_ok = None, False
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or " " in value:
            raise ValueError("must be the app's address as customers reach it, e.g. https://care.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or fragment: links are built by appending paths")
        return value


class ThrottleSettings(Section):
    max_per_hour: int = Field(20, ge=0, description="Hard cap of sends per clock hour.")
    max_per_day: int = Field(100, ge=0, description="Hard cap of sends per rolling 24 h.")
    contact_every_days: float = Field(7, ge=0, description="At most one proactive email per N days.")
    survey_every_days: float = Field(30, ge=0, description="At most one survey per M days.")
    respect_send_window: bool = Field(True, description="Send only in business hours and days.")
    stale_after_hours: float = Field(72, gt=0, description="Approved drafts not sent by then expire.")


class AgentShift(Section):
    name: str = Field(description="Agent's name.")
    timezone: str = Field("UTC", description="Agent's time zone.")
    hours: str = Field("09:00-17:00", description="Shift hours, local time.")
    days: list[Weekday] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])

    _tz = field_validator("timezone")(_check_timezone)
    _hours = field_validator("hours")(_check_hours)


class ReplyRatePrior(Section):
    follow_up: float = Field(0.5, ge=0, le=1)
    check_in: float = Field(0.35, ge=0, le=1)
    survey: float = Field(0.25, ge=0, le=1)
    apology: float = Field(0.45, ge=0, le=1)
    thank_you: float = Field(0.05, ge=0, le=1)


class CapacitySettings(Section):
    handle_minutes: float = Field(8, gt=0, description="Minutes an agent needs per reply.")
    max_utilisation: float = Field(0.7, gt=0, le=1, description="Share of shift time for replies.")
    backlog_minutes_per_thread: float = Field(
        15, ge=0, description="Minutes an open, unanswered thread still needs."
    )
    agents: list[AgentShift] = Field(
        default_factory=lambda: [AgentShift(name="Sam")], description="The team roster."
    )
    reply_rate_prior: ReplyRatePrior = Field(default_factory=ReplyRatePrior)
    prior_weight: float = Field(
        20, ge=0, description="How many sends the prior counts for before history takes over."
    )


class KnownIncident(Section):
    name: str = Field(description="Short name shown in reasons ('EU checkout outage').")
    start: datetime = Field(description="When it began (ISO 8601 with offset).")
    end: datetime = Field(description="When it was over (ISO 8601 with offset).")
    keywords: list[str] = Field(
        default_factory=lambda: ["outage", "down", "not loading", "unavailable", "502", "503"],
        description="Words that tie a customer's message to the incident (word start, any case).",
    )


class DetectionSettings(Section):
    first_response_sla_hours: float = Field(8, gt=0, description="Business hours to first reply.")
    next_response_sla_hours: float = Field(16, gt=0, description="Business hours to next reply.")
    promise_grace_hours: float = Field(
        16, gt=0, description="Business hours a promise may go unfulfilled."
    )
    negative_threshold: float = Field(-0.35, le=0, description="Tone below this is negative.")
    concern_threshold: float = Field(
        -0.05,
        le=0,
        description=(
            "Tone below this but not below negative_threshold is a mild concern (a plain fault "
            "report, a frustrated question). It leads to a check_in only when our last reply merely "
            "acknowledged the message (see acknowledgement_phrases) and the customer then stayed "
            "quiet for quiet_days. Set it equal to negative_threshold to turn this off."
        ),
    )
    acknowledgement_phrases: list[str] = Field(
        default_factory=lambda: [
            "thank you for", "thanks for", "thanks again", "many thanks", "we appreciate",
            "i appreciate", "we value your", "we have received", "we've received", "i have received",
            "we have read", "we've read", "we have noted", "we've noted", "we have passed",
            "we've passed", "we have forwarded", "we've forwarded", "we have shared",
            "your message has been", "your feedback has been", "your feedback is", "sorry for",
            "sorry to hear", "so sorry", "we're sorry", "we are sorry", "i'm sorry", "i am sorry",
            "we apologise", "we apologize", "i apologise", "i apologize", "apologies for",
            "we understand your", "i understand your", "i understand how", "we hear you",
            "happy to help", "glad to help", "let me know if", "let us know if", "just reply if",
            "just reply here if", "feel free to", "hope this helps",
            "have a good", "have a great", "have a nice",
            "vielen dank", "danke für", "wir haben ihre nachricht", "es tut uns leid",
            "entschuldigen sie", "wir bedauern",
        ],
        description=(
            "Sentence openings that acknowledge without answering. A staff reply all of whose "
            "sentences start with one of these (greetings and sign-offs aside) only acknowledged "
            "the customer: no answer, fix, question or promise. Matched at a sentence start, any case."
        ),
    )
    quiet_days: float = Field(3, gt=0, description="Days of silence after our reply.")
    repeat_window_days: float = Field(14, gt=0, description="Repeat contacts counted within.")
    repeat_min_contacts: int = Field(3, ge=2, description="Threads by one customer to count.")
    stalemate_min_messages: int = Field(8, ge=2, description="Messages before a stalemate.")
    survey_delay_hours: float = Field(24, ge=0, description="Wait after resolution to survey.")
    survey_max_age_days: float = Field(14, gt=0, description="Too late to survey after this.")
    lookback_days: float = Field(60, gt=0, description="Threads quiet longer are left alone.")
    churn_phrases: list[str] = Field(
        default_factory=lambda: [
            "cancel", "chargeback", "lawyer", "switching to", "switch to another", "third time",
            "still not fixed", "unsubscribe me", "close my account", "competitor",
            "looking at alternatives", "kündig", "wechseln zu",
            "résilier", "résiliation", "avocat", "passer chez", "concurrent", "troisième fois",
            "fermer mon compte", "darme de baja", "dar de baja", "abogado", "cambiarme a",
            "la competencia", "tercera vez", "cerrar mi cuenta",
        ],
        description=(
            "Phrases that signal churn or escalation, matched case-insensitively at a word start "
            "in customers' own words ('cancel' also matches 'cancelling'). 'refund' is not one: "
            "asking for a refund is an ordinary billing matter."
        ),
    )
    customer_values_csv: str = Field(
        "",
        description=(
            "CSV file with the header 'address,value' (value >= 0, 1 = normal, 4 = top priority "
            "boost): customer values that weigh priority; they override the store's customer value "
            "for the addresses listed. Read again when the file changes."
        ),
    )
    positive_threshold: float = Field(
        0.3, ge=0, description="Tone at or above this is positive (a thank-you that closes a thread)."
    )
    promise_phrases: list[str] = Field(
        default_factory=lambda: [
            "get back to you", "looking into", "look into this", "look into it", "investigating",
            "keep you posted", "keep you updated", "update you", "expect an update",
            "i'll let you know", "we'll let you know", "will let you know", "i'll follow up",
            "we'll follow up", "i will follow up", "circle back", "escalated this",
            "melde mich", "melden uns", "melden wir uns", "kümmern uns", "schauen uns das an",
            "prüfen das", "sehen uns das an", "geben ihnen bescheid", "halte sie auf dem laufenden",
            "reviens vers vous", "revenons vers vous", "reviendrai vers vous", "reviendrons vers vous",
            "vous tiens au courant", "vous tiendrai au courant", "vous tiendrons au courant",
            "vous tiendrons informé", "je vérifie", "nous vérifions", "je regarde", "nous regardons",
            "me pondré en contacto", "nos pondremos en contacto", "le mantendré informad",
            "le mantendremos informad", "lo estamos revisando", "estamos revisando", "le avisaré",
            "le avisaremos", "le escribiré", "le escribiremos",
        ],
        description="Staff phrases that promise more news (English, German, French, Spanish), matched at a word start.",
    )
    stalemate_negative_share: float = Field(
        0.5, ge=0, le=1,
        description="Share of the customer's messages that must be negative for a stalemate.",
    )
    repeat_topics: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "refund": ["refund", "money back", "reimburse"],
            "invoice": ["invoice", "receipt", "vat", "charged twice", "double charge", "billing"],
            "login": ["log in", "login", "password", "sign in", "2fa", "two-factor", "locked out"],
            "delivery": ["delivery", "shipping", "parcel", "package", "tracking", "courier"],
            "sync": ["sync", "syncing"],
            "export": ["export", "csv"],
            "mobile app": ["android", "iphone", "ios app", "mobile app"],
            "integration": ["api", "webhook", "integration", "zapier"],
            "subscription": ["subscription", "plan", "upgrade", "downgrade", "seats"],
        },
        description=(
            "Matters for repeat contacts: a customer's threads that share a matter (a keyword in "
            "the subject or first message) or the same normalised subject count together."
        ),
    )
    incidents: list[KnownIncident] = Field(
        default_factory=list, description="Known incidents (outages) customers may write about."
    )
    incident_after_hours: float = Field(
        48, ge=0, description="Messages up to this long after an incident ends still count as about it."
    )
    priority_base: dict[str, float] = Field(
        default_factory=lambda: {
            "call": 50, "apology": 45, "follow_up": 40, "check_in": 30, "survey": 5,
        },
        description="Starting priority per kind, before the weights below add to it.",
    )
    weight_wait: float = Field(
        20, ge=0, description="Priority added at 3× the SLA (or grace) waited, linearly."
    )
    weight_tone: float = Field(20, ge=0, description="Priority added per unit of negative tone.")
    weight_churn: float = Field(15, ge=0, description="Priority added when churn words were said.")
    weight_repeat: float = Field(
        10, ge=0, description="Priority added at 4+ repeat contacts, linearly from 1."
    )
    weight_value: float = Field(
        10, ge=0, description="Priority added for a customer of value 4 (log2 scale, 1 adds 0)."
    )


class DraftSettings(Section):
    auto_approve: list[Literal["follow_up", "check_in", "survey", "apology", "thank_you"]] = Field(
        default_factory=list, description="Kinds approved without review."
    )
    expire_days: float = Field(3, gt=0, description="Drafts not reviewed by then expire.")
    agent_name: str = Field("Sam", description="Agent who signs drafts by default.")
    signature: str = Field("", description="Signature under the agent's name.")
    default_language: str = Field("en", description="Language when the customer's is unknown.")
    gestures: list[str] = Field(
        default_factory=lambda: ["a $10 account credit", "a free month of service"],
        description="Gestures an agent may offer in an apology.",
    )


class SurveySettings(Section):
    scale: Literal["csat", "nps"] = Field("csat", description="CSAT 1–5 or NPS 0–10.")
    link_expiry_days: float = Field(
        30, gt=0,
        description="Survey links expire after; replies to older surveys no longer change their score.",
    )
    detractor_kind: Literal["apology", "follow_up"] = Field(
        "apology", description="Close-the-loop candidate for a detractor (CSAT ≤ 2, NPS ≤ 6)."
    )
    detractor_priority: int = Field(
        90, ge=0, le=100, description="Priority of a detractor's close-the-loop candidate."
    )
    thank_promoters: bool = Field(
        False, description="Suggest a thank-you to promoters (CSAT 5, NPS ≥ 9), reviewed by an agent."
    )
    promoter_priority: int = Field(20, ge=0, le=100, description="Priority of a promoter's thank-you.")


class ReviewSettings(Section):
    host: str = Field("127.0.0.1", description="Review app bind address.")
    port: int = Field(8025, ge=1, le=65535, description="Review app port.")
    session_secret: SecretStr | None = Field(
        None, description="Secret: signs agent sessions (env OUTREACH_REVIEW__SESSION_SECRET)."
    )
    session_minutes: int = Field(480, gt=0, description="Sessions expire after.")
    login_attempts_per_minute: int = Field(5, gt=0, description="Login rate limit per address.")
    secure_cookies: bool | Literal["auto"] = Field(
        "auto",
        description="Send the session cookie over HTTPS only: true, false, or auto (true when sender.public_url is https://).",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies in front of the review app (addresses or networks, e.g. ['127.0.0.1']): "
        "the agent's address is then taken from their X-Forwarded-For (login limit, logs) and the scheme "
        "from X-Forwarded-Proto. Empty: the connecting address counts, and behind a proxy every agent "
        "shares the proxy's login limit.",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{value!r} is not an IP address or network") from None
        return [v.strip() for v in values]


class ReportSettings(Section):
    out_dir: str = Field("data/report", description="Where `outreach report` writes.")


class PathSettings(Section):
    data_dir: str = Field("data", description="Working data (store, outbox, sample mailbox).")
    templates_dir: str = Field("", description="Jinja2 templates; empty: the bundled ones.")


class Settings(BaseSettings):
    """All settings. Build with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="OUTREACH_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    store: StoreSettings = Field(default_factory=StoreSettings)
    team: TeamSettings = Field(default_factory=TeamSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    sendgrid: SendgridSettings = Field(default_factory=SendgridSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    sender: SenderSettings = Field(default_factory=SenderSettings)
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)
    capacity: CapacitySettings = Field(default_factory=CapacitySettings)
    detection: DetectionSettings = Field(default_factory=DetectionSettings)
    drafts: DraftSettings = Field(default_factory=DraftSettings)
    surveys: SurveySettings = Field(default_factory=SurveySettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)
    paths: PathSettings = Field(default_factory=PathSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, which arrives as init kwargs.
        return (env_settings, init_settings)

    @property
    def templates_path(self) -> Path:
        return Path(self.paths.templates_dir) if self.paths.templates_dir else REPO_ROOT / "templates"

    def is_staff(self, address: str) -> bool:
        """Whether mail from ``address`` was written by the team."""
        address = address.lower()
        if address in self.team.addresses or address == self.sender.from_address.lower():
            return True
        domain = address.rpartition("@")[2]
        return bool(domain) and domain in self.team.domains


def _url_password(url: str) -> str | None:
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:
        return None


SECRET_KEYS: frozenset[tuple[str, str]] = frozenset(
    {
        ("imap", "password"),
        ("imap", "oauth2_token"),
        ("imap", "oauth2_client_secret"),
        ("imap", "oauth2_refresh_token"),
        ("sendgrid", "api_key"),
        ("smtp", "password"),
        ("sender", "signing_key"),
        ("review", "session_secret"),
    }
)


def config_path(explicit: str | Path | None = None) -> Path | None:
    """The config file to read: ``explicit``, else ``$OUTREACH_CONFIG``, else none."""
    chosen = explicit or os.environ.get("OUTREACH_CONFIG")
    return Path(chosen) if chosen else None


def load_settings(path: str | Path | None = None) -> Settings:
    """Read settings from defaults, a TOML file and the environment.

    Args:
        path: Config file; defaults to ``$OUTREACH_CONFIG``; none means defaults + env.

    Returns:
        Validated settings.

    Raises:
        ConfigError: naming the first bad key and its problem.
    """
    data: dict[str, Any] = {}
    chosen = config_path(path)
    if chosen is not None:
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(str(chosen), "config file not found") from None
        except IsADirectoryError:
            raise ConfigError(str(chosen), "is a folder, not a config file") from None
        except OSError as exc:
            raise ConfigError(str(chosen), f"cannot read the config file: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(str(chosen), f"config file is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(chosen), f"invalid TOML: {exc}") from None
        for section, key in sorted(SECRET_KEYS):
            if isinstance(data.get(section), dict) and key in data[section]:
                raise ConfigError(
                    f"{section}.{key}",
                    "secrets are not read from the config file; set "
                    f"OUTREACH_{section.upper()}__{key.upper()} or use a Prefect Secret block",
                )
        store_url = data.get("store", {}).get("url") if isinstance(data.get("store"), dict) else None
        if isinstance(store_url, str) and _url_password(store_url):
            raise ConfigError(
                "store.url",
                "a database password is not read from the config file; set the whole URL in "
                "OUTREACH_STORE__URL instead (or use a password file such as ~/.pgpass)",
            )
    check_environment(os.environ)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise _config_error(exc) from None
    except EnvSettingsError as exc:
        # check_environment catches the known causes with the variable's name; this is
        # the backstop for anything pydantic-settings refuses that it does not foresee.
        raise ConfigError("environment", f"{exc}: {exc.__cause__}" if exc.__cause__ else str(exc)) from None


ENV_PREFIX = "OUTREACH_"
ENV_DELIMITER = "__"
# OUTREACH_* variables that are not settings: the config file's path, the checkout a
# Prefect worker runs from (prefect.yaml), and the benchmarks' sizes.
NOT_SETTINGS: tuple[str, ...] = ("OUTREACH_CONFIG", "OUTREACH_HOME")
NOT_SETTINGS_PREFIXES: tuple[str, ...] = ("OUTREACH_BENCH_",)


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse ``OUTREACH_*`` variables that pydantic-settings would ignore or fail on without naming them.

    pydantic-settings silently drops ``OUTREACH_<SECTION>__<KEY>`` when the section is
    misspelled, and answers a value that is not JSON for a list, table or section
    with a ``SettingsError`` naming only the section. Variables without the ``__``
    delimiter are left alone unless they name a section: other tools may share the
    prefix.

    Raises:
        ConfigError: naming the setting and the variable.
    """
    for name in sorted(environ):
        upper = name.upper()  # pydantic-settings reads these names case-insensitively
        if not upper.startswith(ENV_PREFIX) or upper in NOT_SETTINGS or upper.startswith(NOT_SETTINGS_PREFIXES):
            continue
        parts = upper[len(ENV_PREFIX):].lower().split(ENV_DELIMITER)
        if len(parts) == 1 and parts[0] not in Settings.model_fields:
            continue
        model: type[BaseModel] = Settings
        for depth, part in enumerate(parts):
            field = model.model_fields.get(part)
            key = ".".join(parts[: depth + 1])
            if field is None:
                if depth == 0:
                    raise ConfigError(name, f"unknown settings section {part!r}{_did_you_mean(part, Settings)}")
                raise ConfigError(key, f"unknown setting (from {name}){_did_you_mean(part, model)}")
            inner = _model_of(field.annotation)
            if depth == len(parts) - 1:
                if inner is not None or _is_collection(field.annotation):
                    _check_json(name, key, environ[name], field)
            elif inner is not None:
                model = inner
            else:
                break  # below a list or table: pydantic-settings and pydantic judge the rest


def _did_you_mean(word: str, model: type[BaseModel]) -> str:
    close = difflib.get_close_matches(word, list(model.model_fields), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of ``X | None`` / ``Union[...]``, else the annotation alone."""
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(a for a in get_args(annotation) if a is not type(None))
    return (annotation,)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            return member
    return None


def _is_collection(annotation: Any) -> bool:
    return any(get_origin(m) in (list, dict, set, tuple, frozenset) for m in _members(annotation))


def _check_json(name: str, key: str, value: str, field: FieldInfo) -> None:
    """Lists, tables and sections come from the environment as JSON (as pydantic-settings reads them)."""
    try:
        json.loads(value)
    except ValueError as exc:
        raise ConfigError(
            key, f"{name} must be JSON, e.g. {_json_example(value, field)} ({exc.msg} in {value!r})"
        ) from None


def _json_example(value: str, field: FieldInfo) -> str:
    """An example in the variable's own words where that is possible: ``a,b`` becomes ``["a", "b"]``."""
    if any(get_origin(m) in (list, set, tuple, frozenset) for m in _members(field.annotation)):
        items = [item.strip().strip("[]\"'").strip() for item in value.split(",")]
        if all(items) and not any(c in value for c in "{}:"):
            return "'" + json.dumps(items, ensure_ascii=False) + "'"
    default = field.get_default(call_default_factory=True)
    try:
        example = TypeAdapter(field.annotation).dump_json(default).decode()
    except (ValueError, TypeError):  # a default pydantic cannot serialise: no example then
        return "a JSON value"
    return "'" + example + "'"


def _config_error(exc: ValidationError) -> ConfigError:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        problem = "unknown setting"
    elif first["type"] == "missing":
        problem = "required setting is missing"
    else:
        problem = first["msg"]
        if first["type"] == "value_error":
            # Our validators' own words; pydantic's "Value error, " prefix adds nothing.
            problem = problem.removeprefix("Value error, ")
        if (
            "input" in first
            and not isinstance(first["input"], dict | list)
            and key not in _UNECHOED
            and repr(first["input"]) not in problem  # already quoted by the validator
        ):
            problem += f" (got {first['input']!r})"
    return ConfigError(key, problem)


# Values not repeated in error messages: a database URL may carry its password.
_UNECHOED = frozenset({"store.url"})
