"""Signed survey/unsubscribe tokens and reply tokens."""

from __future__ import annotations

import re
import time

import pytest

from outreach import links
from outreach.errors import ConfigError, TokenError
from outreach.links import (
    make_survey_token,
    make_unsubscribe_token,
    new_reply_token,
    read_survey_token,
    read_unsubscribe_token,
    survey_links,
    survey_url,
    unsubscribe_url,
)
from tests.core_fixtures import tamper_signature

KEY = "test-signing-key"


def test_survey_token_round_trip() -> None:
    token = make_survey_token(42, 4, KEY)
    assert read_survey_token(token, KEY, max_age_seconds=3600) == (42, 4)


def test_survey_token_wrong_key_is_refused() -> None:
    token = make_survey_token(42, 4, KEY)
    with pytest.raises(TokenError):
        read_survey_token(token, "another-key", max_age_seconds=3600)


def test_survey_token_tampered_is_refused() -> None:
    token = make_survey_token(42, 4, KEY)
    # Swap the payload of a token for score 5 onto the signature of score 4.
    other = make_survey_token(42, 5, KEY)
    forged = other.split(".")[0] + "." + ".".join(token.split(".")[1:])
    with pytest.raises(TokenError):
        read_survey_token(forged, KEY, max_age_seconds=3600)
    with pytest.raises(TokenError):
        read_survey_token(tamper_signature(token), KEY, 3600)
    with pytest.raises(TokenError):
        read_survey_token("not-a-token", KEY, 3600)


def test_survey_token_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 7200)
    token = make_survey_token(1, 3, KEY)
    monkeypatch.setattr(time, "time", lambda: now)
    assert read_survey_token(token, KEY, max_age_seconds=10_000) == (1, 3)
    with pytest.raises(TokenError, match="expired"):
        read_survey_token(token, KEY, max_age_seconds=3600)


def test_tokens_are_bound_to_their_purpose() -> None:
    unsub = make_unsubscribe_token("jane@example.com", KEY)
    survey = make_survey_token(7, 5, KEY)
    with pytest.raises(TokenError):
        read_survey_token(unsub, KEY, 3600)
    with pytest.raises(TokenError):
        read_unsubscribe_token(survey, KEY)


def test_unsubscribe_token_round_trip_lowercases() -> None:
    token = make_unsubscribe_token(" Jane.Doe@Example.COM ", KEY)
    assert read_unsubscribe_token(token, KEY) == "jane.doe@example.com"
    with pytest.raises(TokenError):
        read_unsubscribe_token(token, "other", )


def test_an_unsubscribe_link_does_not_show_the_address() -> None:
    """Proxies, link scanners and browser histories record URLs: the address must not be readable."""
    import base64

    token = make_unsubscribe_token("pablo.marsh@example.org", KEY)
    assert token == make_unsubscribe_token("Pablo.Marsh@example.org", KEY)  # one address, one link
    decoded = base64.urlsafe_b64decode(token[2:] + "=" * (-len(token[2:]) % 4))
    assert b"pablo" not in decoded and b"example" not in decoded and "pablo" not in token
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(TokenError, match="invalid"):
        read_unsubscribe_token(tampered, KEY)
    with pytest.raises(TokenError, match="invalid"):
        read_unsubscribe_token("u2!!!not-base64", KEY)


def test_unsubscribe_links_in_mail_sent_by_earlier_versions_still_work() -> None:
    from itsdangerous import URLSafeTimedSerializer

    old = URLSafeTimedSerializer(KEY, salt=links.UNSUBSCRIBE_SALT).dumps("jane@example.com")
    assert read_unsubscribe_token(old, KEY) == "jane@example.com"
    forged = URLSafeTimedSerializer("other", salt=links.UNSUBSCRIBE_SALT).dumps("jane@example.com")
    with pytest.raises(TokenError):
        read_unsubscribe_token(forged, KEY)


def test_malformed_payload_signed_with_right_key_is_refused() -> None:
    from itsdangerous import URLSafeTimedSerializer

    bad = URLSafeTimedSerializer(KEY, salt=links.SURVEY_SALT).dumps({"draft": 1})
    with pytest.raises(TokenError, match="malformed"):
        read_survey_token(bad, KEY, 3600)
    bad_score = URLSafeTimedSerializer(KEY, salt=links.SURVEY_SALT).dumps([1, 99])
    with pytest.raises(TokenError):
        read_survey_token(bad_score, KEY, 3600)


def test_empty_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        make_survey_token(1, 1, "")
    with pytest.raises(ConfigError):
        make_unsubscribe_token("a@b.c", "")


def test_reply_tokens_are_random_and_url_safe() -> None:
    tokens = {new_reply_token() for _ in range(500)}
    assert len(tokens) == 500
    for token in tokens:
        assert len(token) >= 20
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        # Survives a mail server folding the local part's case.
        assert token == token.lower()


def test_urls() -> None:
    assert survey_url("https://x.test/", "abc.def") == "https://x.test/survey/abc.def"
    assert unsubscribe_url("https://x.test", "abc") == "https://x.test/unsubscribe/abc"


def test_survey_links_cover_the_scale_and_verify() -> None:
    csat = survey_links("https://x.test", 9, "csat", KEY)
    nps = survey_links("https://x.test", 9, "nps", KEY)
    assert sorted(csat) == [1, 2, 3, 4, 5]
    assert sorted(nps) == list(range(11))
    for score, url in nps.items():
        token = url.rsplit("/", 1)[1]
        assert read_survey_token(token, KEY, 3600) == (9, score)
