"""XOAUTH2 login (Gmail, Microsoft 365) against a real Dovecot whose oauth2 passdb checks tokens.

Dovecot POSTs each presented token to an introspection endpoint (RFC 7662, the
``http_stub`` server here) and lets the user in only when the answer says the
token is active for that user: the same exchange Gmail and Microsoft 365
perform with their own token services.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from connectors.imap import IdleConnection, ImapSource
from outreach.errors import SourceError
from outreach.settings import ImapSettings
from tests.servers.dovecot import DovecotServer, DovecotUser, make_server
from tests.servers.http_stub import HttpStub, StubRequest, StubResponse

pytestmark = pytest.mark.integration

TOKEN = "ya29.valid-access-token-for-the-test"


class OAuthServer:
    """A Dovecot that takes XOAUTH2, its one user, and the token service it asks."""

    def __init__(self, server: DovecotServer, user: DovecotUser, tokens: HttpStub) -> None:
        self.server, self.user, self.tokens = server, user, tokens

    def settings(self) -> ImapSettings:
        return ImapSettings(
            host="127.0.0.1", port=self.server.port, username=self.user.user, ssl=False, auth="xoauth2",
            folders=["INBOX"], sent_folders=[], timeout_seconds=10, idle_seconds=60,
        )

    def introspected_tokens(self) -> list[str]:
        return [parse_qs(r.body.decode()).get("token", [""])[0] for r in self.tokens.requests]


@pytest.fixture
def oauth(http_stub: HttpStub) -> Iterator[OAuthServer]:
    base = Path(tempfile.mkdtemp(prefix="outreach-dovecot-oauth-"))
    server = make_server(base, oauth2_introspection_url=f"{http_stub.url}/introspect")
    server._write_users(1)
    server.start()
    try:
        user = server.add_user()

        def introspect(request: StubRequest) -> StubResponse:
            token = parse_qs(request.body.decode()).get("token", [""])[0]
            if request.path == "/introspect" and token == TOKEN:
                return StubResponse(200, {}, {"active": True, "username": user.user})
            return StubResponse(200, {}, {"active": False})

        http_stub.default = introspect
        yield OAuthServer(server, user, http_stub)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_valid_token_logs_in_and_fetches(oauth: OAuthServer) -> None:
    mail = b"From: Ann <ann@example.test>\r\nSubject: Hi\r\nMessage-ID: <x1@example.test>\r\n\r\nHello\r\n"
    oauth.user.append("INBOX", mail)
    with ImapSource(oauth.settings(), password=None, oauth2_token=TOKEN) as src:
        batches = list(src.fetch_new("INBOX", None, 10))
    assert [m.data for b in batches for m in b.messages] == [mail]
    # Dovecot really asked the token service: the login went through the oauth2 passdb.
    assert TOKEN in oauth.introspected_tokens()


def test_a_refused_token_is_a_clear_error_that_does_not_show_the_token(oauth: OAuthServer) -> None:
    with ImapSource(oauth.settings(), password=None, oauth2_token="expired-token") as src:
        with pytest.raises(SourceError) as err:
            src.folders()
    assert "authentication failed" in err.value.problem
    assert "expired-token" not in str(err.value)
    assert "expired-token" in oauth.introspected_tokens()


def test_the_idle_connection_logs_in_with_the_token_too(oauth: OAuthServer) -> None:
    with IdleConnection(oauth.settings(), "INBOX", oauth2_token=TOKEN) as idle:
        assert idle.connection.state == "SELECTED"
    assert TOKEN in oauth.introspected_tokens()
