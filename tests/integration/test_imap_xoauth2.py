"""XOAUTH2 login (Gmail, Microsoft 365) against a real Dovecot whose oauth2 passdb checks tokens.

Dovecot POSTs each presented token to an introspection endpoint (RFC 7662, the
``http_stub`` server here) and lets the user in only when the answer says the
token is active for that user: the same exchange Gmail and Microsoft 365
perform with their own token services.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from connectors.factory import imap_credentials
from connectors.imap import IdleConnection, ImapSource, watch
from connectors.oauth2 import RefreshingToken
from outreach.errors import SourceError
from outreach.settings import ImapSettings
from tests.servers.dovecot import DovecotServer, DovecotUser, make_server
from tests.servers.http_stub import HttpStub, StubRequest, StubResponse

pytestmark = pytest.mark.integration

TOKEN = "ya29.valid-access-token-for-the-test"
CLIENT_ID = "outreach-test-client"
CLIENT_SECRET = "client-secret-not-for-logs"
REFRESH_TOKEN = "1//refresh-token-not-for-logs"


class OAuthServer:
    """A Dovecot that takes XOAUTH2, its one user, and the token service it asks.

    The token service also issues access tokens (``POST /token``, the refresh-token grant)
    for ``REFRESH_TOKEN`` and whatever refresh token it rotated to; Dovecot accepts those
    and ``TOKEN``.
    """

    def __init__(self, server: DovecotServer, user: DovecotUser, tokens: HttpStub) -> None:
        self.server, self.user, self.tokens = server, user, tokens
        self.issued: list[str] = []
        self.refresh_tokens = {REFRESH_TOKEN}
        self.rotate_to: str | None = None  # the next grant also hands out this refresh token

    def settings(self, **extra: object) -> ImapSettings:
        return ImapSettings(
            host="127.0.0.1", port=self.server.port, username=self.user.user, ssl=False, auth="xoauth2",
            folders=["INBOX"], sent_folders=[], timeout_seconds=10, idle_seconds=60, **extra,
        )

    def renewing(self, **extra: object) -> ImapSettings:
        """Settings that renew tokens from the refresh token at this token service."""
        return self.settings(
            oauth2_token_url=f"{self.tokens.url}/token", oauth2_client_id=CLIENT_ID,
            oauth2_client_secret=CLIENT_SECRET, oauth2_refresh_token=REFRESH_TOKEN, **extra,
        )

    def introspected_tokens(self) -> list[str]:
        return [parse_qs(r.body.decode()).get("token", [""])[0] for r in self.tokens.requests if r.path == "/introspect"]

    def grants(self) -> list[dict[str, str]]:
        """The forms POSTed to the token endpoint, in order."""
        return [
            {k: v[0] for k, v in parse_qs(r.body.decode()).items()} for r in self.tokens.requests if r.path == "/token"
        ]

    def grant(self, request: StubRequest) -> StubResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if (
            form.get("grant_type") != "refresh_token" or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return StubResponse(401, {}, {"error": "invalid_client", "error_description": "Unknown client."})
        if form.get("refresh_token") not in self.refresh_tokens:
            return StubResponse(400, {}, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
        token = f"ya29.issued-{len(self.issued) + 1}"
        self.issued.append(token)
        answer = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        if self.rotate_to:
            self.refresh_tokens = {self.rotate_to}
            answer["refresh_token"], self.rotate_to = self.rotate_to, None
        return StubResponse(200, {}, answer)


@pytest.fixture
def oauth(http_stub: HttpStub) -> Iterator[OAuthServer]:
    base = Path(tempfile.mkdtemp(prefix="outreach-dovecot-oauth-"))
    server = make_server(base, oauth2_introspection_url=f"{http_stub.url}/introspect")
    server._write_users(1)
    server.start()
    try:
        user = server.add_user()

        oauth = OAuthServer(server, user, http_stub)

        def answer(request: StubRequest) -> StubResponse:
            if request.path == "/token":
                return oauth.grant(request)
            token = parse_qs(request.body.decode()).get("token", [""])[0]
            if request.path == "/introspect" and (token == TOKEN or token in oauth.issued):
                return StubResponse(200, {}, {"active": True, "username": user.user})
            return StubResponse(200, {}, {"active": False})

        http_stub.default = answer
        yield oauth
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
    assert "oauth2_token_url" in err.value.problem  # how to stop tokens from expiring
    assert not err.value.retryable
    assert "expired-token" not in str(err.value)
    assert "expired-token" in oauth.introspected_tokens()


def test_the_idle_connection_logs_in_with_the_token_too(oauth: OAuthServer) -> None:
    with IdleConnection(oauth.settings(), "INBOX", oauth2_token=TOKEN) as idle:
        assert idle.connection.state == "SELECTED"
    assert TOKEN in oauth.introspected_tokens()


# --- tokens renewed from a refresh token (what Gmail and Microsoft 365 need unattended) ------


def test_a_refresh_token_gets_an_access_token_that_logs_in_and_fetches(oauth: OAuthServer) -> None:
    mail = b"From: Ann <ann@example.test>\r\nSubject: Hi\r\nMessage-ID: <r1@example.test>\r\n\r\nHello\r\n"
    oauth.user.append("INBOX", mail)
    settings = oauth.renewing(oauth2_scope="https://outlook.office.com/IMAP.AccessAsUser.All offline_access")
    password, token = imap_credentials(settings)
    assert password is None and isinstance(token, RefreshingToken)
    with ImapSource(settings, password=None, oauth2_token=token) as src:
        batches = list(src.fetch_new("INBOX", None, 10))
    assert [m.data for b in batches for m in b.messages] == [mail]
    assert oauth.grants() == [{
        "grant_type": "refresh_token", "refresh_token": REFRESH_TOKEN, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
    }]
    assert oauth.introspected_tokens() == ["ya29.issued-1"]  # Dovecot saw the issued token


def test_a_token_is_reused_until_it_nearly_expires_then_renewed_with_the_rotated_refresh_token(
    oauth: OAuthServer,
) -> None:
    now = [1000.0]
    token = RefreshingToken(
        f"{oauth.tokens.url}/token", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        refresh_token=REFRESH_TOKEN, clock=lambda: now[0],
    )
    oauth.rotate_to = "1//rotated-refresh-token"  # Microsoft hands out a new refresh token with each grant

    def login() -> None:
        with IdleConnection(oauth.settings(), "INBOX", oauth2_token=token) as idle:
            assert idle.connection.state == "SELECTED"

    login()
    now[0] += 3000  # 3599 s tokens: still 10 minutes left
    login()
    assert token.renewals == 1
    now[0] += 500  # under two minutes left: renewed before the login
    login()
    assert token.renewals == 2
    assert [g["refresh_token"] for g in oauth.grants()] == [REFRESH_TOKEN, "1//rotated-refresh-token"]
    assert oauth.introspected_tokens() == ["ya29.issued-1", "ya29.issued-1", "ya29.issued-2"]


def test_a_revoked_refresh_token_is_a_clear_error_without_secrets(oauth: OAuthServer) -> None:
    oauth.refresh_tokens = set()  # revoked by the mailbox owner
    _, token = imap_credentials(oauth.renewing())
    with ImapSource(oauth.settings(), password=None, oauth2_token=token, backoff_base=0.01) as src:
        with pytest.raises(SourceError) as err:
            src.folders()
    assert not err.value.retryable
    assert "invalid_grant" in err.value.problem and "consent" in err.value.problem
    assert err.value.source.startswith("oauth2 token endpoint http://127.0.0.1")
    for secret_value in (REFRESH_TOKEN, CLIENT_SECRET):
        assert secret_value not in str(err.value)
    assert len(oauth.grants()) == 1  # a refusal is not retried
    assert oauth.introspected_tokens() == []  # nobody tried to log in without a token


def test_a_token_endpoint_failing_for_a_moment_is_retried_by_the_sync(oauth: OAuthServer) -> None:
    oauth.tokens.respond(503, {"error": "temporarily_unavailable"}, path="/token")
    _, token = imap_credentials(oauth.renewing())
    with ImapSource(oauth.settings(), password=None, oauth2_token=token, backoff_base=0.01) as src:
        assert [name for name, _sent in src.folders()] == ["INBOX"]
    assert len(oauth.grants()) == 2
    assert oauth.introspected_tokens() == ["ya29.issued-1"]


def test_watch_rides_out_an_unreachable_token_endpoint(oauth: OAuthServer) -> None:
    oauth.tokens.respond(502, b"bad gateway", path="/token", times=2)
    _, token = imap_credentials(oauth.renewing())
    stop = threading.Event()
    ready: list[str] = []

    def on_ready(folder: str) -> None:
        ready.append(folder)
        stop.set()

    watcher = threading.Thread(
        target=watch, args=(oauth.settings(), lambda _f: None),
        kwargs={"stop": stop, "oauth2_token": token, "folders": ["INBOX"], "on_ready": on_ready,
                "backoff_base": 0.01, "backoff_cap": 0.05},
    )
    watcher.start()
    watcher.join(timeout=30)
    assert not watcher.is_alive()
    assert ready == ["INBOX"]  # watching after two failed renewals, instead of giving up
    assert len(oauth.grants()) == 3


def test_a_rotated_refresh_token_from_the_environment_warns_once_without_the_token(
    oauth: OAuthServer, caplog: pytest.LogCaptureFixture
) -> None:
    now = [0.0]
    _, token = imap_credentials(oauth.renewing())
    assert isinstance(token, RefreshingToken)
    token._clock = lambda: now[0]  # noqa: SLF001 - the test's clock instead of waiting an hour
    for rotated in ("1//rotated-once", "1//rotated-twice"):
        oauth.rotate_to = rotated
        with caplog.at_level("WARNING", logger="connectors.factory"):
            token()
        now[0] += 4000
    warnings = [r.getMessage() for r in caplog.records if r.name == "connectors.factory"]
    assert len(warnings) == 1 and "oauth2_refresh_token_block" in warnings[0]
    assert "rotated" not in warnings[0] and REFRESH_TOKEN not in warnings[0]
