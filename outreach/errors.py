"""The exception hierarchy: one base class, specific subclasses that carry context."""

from __future__ import annotations


class OutreachError(Exception):
    """Base class of every error Outreach raises on purpose."""


class ConfigError(OutreachError):
    """A setting is unknown, of the wrong type, or missing.

    Attributes:
        key: Dotted path of the offending setting (``store.url``).
        problem: What is wrong with it, in one line.
    """

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}" if key else problem)


class MessageParseError(OutreachError):
    """A raw message cannot become a stored message; ``reason`` is one line."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class StoreError(OutreachError):
    """The store refused an operation (schema too new, integrity, connection)."""


class SourceError(OutreachError):
    """A message source (IMAP, mbox, Maildir) failed.

    Attributes:
        source: Which source (``imap://host:port/INBOX``, ``mbox:/path``).
        problem: What went wrong, in one line.
        retryable: Whether trying again later may succeed (a token endpoint that could
            not be reached); refusals and bad settings are not.
    """

    def __init__(self, source: str, problem: str, *, retryable: bool = False) -> None:
        self.source = source
        self.problem = problem
        self.retryable = retryable
        super().__init__(f"{source}: {problem}")


class ProviderError(OutreachError):
    """A sending provider rejected or failed a message.

    Attributes:
        provider: ``sendgrid``, ``smtp`` or ``outbox``.
        status_code: HTTP or SMTP status when there is one.
        retryable: Whether retrying later may succeed (429, 5xx, network).
        retry_after: Seconds the provider asked us to wait, when it said.
    """

    def __init__(
        self,
        provider: str,
        problem: str,
        *,
        status_code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.problem = problem
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after
        code = f" ({status_code})" if status_code is not None else ""
        super().__init__(f"{provider}{code}: {problem}")


class ProviderOutcomeUnknown(ProviderError):
    """The request reached the provider but no answer came back: it may have been sent.

    Never retried automatically; the draft becomes ``unknown`` for an operator.
    """

    def __init__(self, provider: str, problem: str, *, status_code: int | None = None) -> None:
        super().__init__(provider, problem, status_code=status_code, retryable=False)


class TemplateError(OutreachError):
    """A template is missing, broken, or uses an undefined variable."""


class PolicyError(OutreachError):
    """An action is forbidden by policy (unsubscribed, contacted too recently…)."""


class DraftStateError(OutreachError):
    """A draft is not in a state that allows the requested transition."""


class TokenError(OutreachError):
    """A signed token is invalid, tampered with, expired or for another object."""
