"""Build connectors from settings; secrets come from the environment or Prefect Secret blocks."""

from __future__ import annotations

from pydantic import SecretStr

from outreach.errors import ConfigError
from outreach.ports import MessageSource, Sender
from outreach.settings import Settings


def secret(value: SecretStr | None, block: str, key: str) -> str | None:
    """A secret from settings (env) or, when a block name is set, from that Prefect Secret block."""
    if value is not None:
        return value.get_secret_value()
    if not block:
        return None
    from prefect.blocks.system import Secret

    try:
        return str(Secret.load(block).get())
    except ValueError as exc:
        raise ConfigError(key, f"Prefect Secret block {block!r} cannot be loaded: {exc}") from None


def make_source(settings: Settings, spec: str) -> MessageSource:
    """``imap``, ``mbox:PATH`` or ``maildir:PATH`` → a message source."""
    from connectors.files import MaildirSource, MboxSource

    kind, _, path = spec.partition(":")
    if kind == "mbox" and path:
        return MboxSource(path)
    if kind == "maildir" and path:
        return MaildirSource(path, settings.imap.sent_folders)
    if kind == "imap" and not path:
        if not settings.imap.host:
            raise ConfigError("imap.host", "required to sync from IMAP (or use --source mbox:PATH)")
        from connectors.imap import ImapSource

        password = secret(settings.imap.password, settings.imap.password_block, "imap.password")
        token = secret(settings.imap.oauth2_token, settings.imap.oauth2_token_block, "imap.oauth2_token")
        if settings.imap.auth == "login" and password is None:
            raise ConfigError("imap.password", "required for LOGIN; set OUTREACH_IMAP__PASSWORD or imap.password_block")
        if settings.imap.auth == "xoauth2" and token is None:
            raise ConfigError("imap.oauth2_token", "required for XOAUTH2; set OUTREACH_IMAP__OAUTH2_TOKEN or imap.oauth2_token_block")
        return ImapSource(settings.imap, password=password, oauth2_token=token)
    raise ConfigError("--source", f"expected imap, mbox:PATH or maildir:PATH, got {spec!r}")


def make_sender(settings: Settings) -> Sender:
    """The configured sender (``sender.provider``)."""
    provider = settings.sender.provider
    if provider == "outbox":
        from connectors.files import FileOutbox

        return FileOutbox(settings.outbox.path)
    if provider == "sendgrid":
        from connectors.sendgrid import SendgridSender

        key = secret(settings.sendgrid.api_key, settings.sendgrid.api_key_block, "sendgrid.api_key")
        if key is None:
            raise ConfigError("sendgrid.api_key", "required; set OUTREACH_SENDGRID__API_KEY or sendgrid.api_key_block")
        return SendgridSender(settings.sendgrid, api_key=key)
    from connectors.smtp import SmtpSender

    if not settings.smtp.host:
        raise ConfigError("smtp.host", "required when sender.provider is smtp")
    return SmtpSender(settings.smtp, password=secret(settings.smtp.password, "", "smtp.password"))
