"""Build connectors from settings; secrets come from the environment or Prefect Secret blocks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import SecretStr

from outreach.errors import ConfigError
from outreach.ports import MessageSource, Sender
from outreach.settings import ImapSettings, Settings

if TYPE_CHECKING:
    from connectors._imap_common import TokenSource

log = logging.getLogger(__name__)


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


def imap_credentials(imap: ImapSettings) -> tuple[str | None, TokenSource | None]:
    """The LOGIN password, or the XOAUTH2 token (fixed, or renewed from a refresh token).

    Raises:
        ConfigError: naming the missing or conflicting setting.
    """
    if imap.auth == "login":
        password = secret(imap.password, imap.password_block, "imap.password")
        if password is None:
            raise ConfigError("imap.password", "required for LOGIN; set OUTREACH_IMAP__PASSWORD or imap.password_block")
        return password, None
    fixed = secret(imap.oauth2_token, imap.oauth2_token_block, "imap.oauth2_token")
    if not imap.oauth2_token_url:
        if fixed is None:
            raise ConfigError(
                "imap.oauth2_token",
                "required for XOAUTH2: set imap.oauth2_token_url, imap.oauth2_client_id and "
                "OUTREACH_IMAP__OAUTH2_REFRESH_TOKEN (tokens renewed automatically), "
                "or a fixed OUTREACH_IMAP__OAUTH2_TOKEN",
            )
        return None, fixed
    if fixed is not None:
        raise ConfigError(
            "imap.oauth2_token", "set either a fixed access token or imap.oauth2_token_url (renewed tokens), not both"
        )
    if not imap.oauth2_client_id:
        raise ConfigError("imap.oauth2_client_id", "required with imap.oauth2_token_url")
    refresh = secret(imap.oauth2_refresh_token, imap.oauth2_refresh_token_block, "imap.oauth2_refresh_token")
    if not refresh:
        raise ConfigError(
            "imap.oauth2_refresh_token",
            "required with imap.oauth2_token_url; set OUTREACH_IMAP__OAUTH2_REFRESH_TOKEN or imap.oauth2_refresh_token_block",
        )
    from connectors.oauth2 import RefreshingToken

    return None, RefreshingToken(
        imap.oauth2_token_url,
        client_id=imap.oauth2_client_id,
        client_secret=secret(imap.oauth2_client_secret, imap.oauth2_client_secret_block, "imap.oauth2_client_secret"),
        refresh_token=refresh,
        scope=imap.oauth2_scope,
        timeout=imap.timeout_seconds,
        on_rotate=_keep_refresh_token(imap),
    )


def _keep_refresh_token(imap: ImapSettings) -> Callable[[str], None]:
    """Where a rotated refresh token goes: back into its Prefect Secret block, or a warning.

    Microsoft issues a new refresh token with every renewal and the first one expires after
    90 days; kept in its block, the newest one is what the next run starts from.
    """
    block = imap.oauth2_refresh_token_block
    if imap.oauth2_refresh_token is None and block:

        def save(token: str) -> None:
            from prefect.blocks.system import Secret

            Secret(value=token).save(block, overwrite=True)
            log.info("imap.oauth2_refresh_token_block %r: renewed refresh token kept", block)

        return save
    warned: list[bool] = []

    def warn(_token: str) -> None:
        if not warned:
            warned.append(True)
            log.warning(
                "the token endpoint issued a new refresh token; the configured one may expire "
                "(Microsoft: after 90 days). Keep it in a Prefect Secret block "
                "(imap.oauth2_refresh_token_block) to have the newest one kept automatically"
            )

    return warn


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

        password, token = imap_credentials(settings.imap)
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
