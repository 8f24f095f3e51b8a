"""Settings: defaults, file, environment, and errors that name the key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from outreach.errors import ConfigError
from outreach.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in [k for k in os.environ if k.startswith("OUTREACH_")]:
        monkeypatch.delenv(key)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_documented_config_equals_the_defaults() -> None:
    assert load_settings(REPO / "config" / "outreach.toml") == Settings()


def test_documented_config_is_in_sync_with_the_models() -> None:
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import gen_config
    finally:
        sys.path.pop(0)
    assert (REPO / "config" / "outreach.toml").read_text(encoding="utf-8") == gen_config.render(), (
        "config/outreach.toml is stale: run `python tools/gen_config.py`"
    )


def test_file_values_are_read(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, '[team]\naddresses = ["Help@Acme.com"]\nhours = "08:30-18:00"\n'))
    assert s.team.addresses == ["help@acme.com"]
    assert s.team.hours == "08:30-18:00"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_THROTTLE__MAX_PER_HOUR", "7")
    monkeypatch.setenv("OUTREACH_TEAM__DOMAINS", '["acme.com"]')
    s = load_settings(write(tmp_path, "[throttle]\nmax_per_hour = 50\n"))
    assert s.throttle.max_per_hour == 7
    assert s.team.domains == ["acme.com"]


def test_outreach_config_env_selects_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_CONFIG", str(write(tmp_path, '[store]\nurl = "sqlite:///x.db"\n')))
    assert load_settings().store.url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[throttle]\nmax_per_hour = 'many'\n", "throttle.max_per_hour", "valid integer"),
        ("[throttle]\nmax_per_huor = 5\n", "throttle.max_per_huor", "unknown setting"),
        ("[nonsense]\nx = 1\n", "nonsense", "unknown setting"),
        ("[team]\nhours = '9-5'\n", "team.hours", "HH:MM-HH:MM"),
        ("[team]\ntimezone = 'Mars/Olympus'\n", "team.timezone", "unknown time zone"),
        ("[sender]\nprovider = 'pigeon'\n", "sender.provider", "sendgrid"),
        ("[[capacity.agents]]\ntimezone = 'UTC'\n", "capacity.agents.0.name", "missing"),
        ("[imap]\npassword = 'hunter2'\n", "imap.password", "secrets are not read from the config file"),
        ("[imap]\noauth2_refresh_token = '1//x'\n", "imap.oauth2_refresh_token", "secrets are not read"),
        ("[imap]\noauth2_client_secret = 'x'\n", "imap.oauth2_client_secret", "secrets are not read"),
        ("[review]\ntrusted_proxies = ['nginx']\n", "review.trusted_proxies", "not an IP address or network"),
        ("[sender]\npublic_url = 'not-a-url'\n", "sender.public_url", "e.g. https://care.example.com"),
        ("[sender]\npublic_url = 'outreach.acme.com'\n", "sender.public_url", "e.g. https://care.example.com"),
        ("[sender]\npublic_url = 'ftp://x y'\n", "sender.public_url", "e.g. https://care.example.com"),
        ("[sender]\npublic_url = 'https://care.example.com/?a=1'\n", "sender.public_url", "query or fragment"),
        (
            "[store]\nurl = 'postgresql+psycopg://outreach:s3cret@db.internal/outreach'\n",
            "store.url",
            "set the whole URL in OUTREACH_STORE__URL",
        ),
        (
            "[imap]\noauth2_token_url = 'http://oauth2.example.com/token'\n",
            "imap.oauth2_token_url",
            "must be an https:// URL",
        ),
    ],
)
def test_bad_config_names_key_and_problem(tmp_path: Path, text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert info.value.key == key
    assert problem in info.value.problem


def test_a_store_url_without_password_is_fine_in_the_file(tmp_path: Path) -> None:
    url = "postgresql+psycopg://outreach@db.internal/outreach"
    assert load_settings(write(tmp_path, f"[store]\nurl = '{url}'\n")).store.url == url


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(write(tmp_path, "[store\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


def test_staff_by_address_and_domain() -> None:
    s = Settings(team={"addresses": ["help@acme.com"], "domains": ["staff.acme.com"]})
    assert s.is_staff("Help@Acme.com")
    assert s.is_staff("joe@staff.acme.com")
    assert not s.is_staff("joe@customer.com")


_XOAUTH2 = {"host": "imap.gmail.com", "username": "support@acme.com", "auth": "xoauth2"}
_RENEWING = {
    **_XOAUTH2, "oauth2_token_url": "https://oauth2.googleapis.com/token", "oauth2_client_id": "id-1",
    "oauth2_refresh_token": "1//r",
}


@pytest.mark.parametrize(
    ("imap", "key", "problem"),
    [
        ({**_XOAUTH2}, "imap.oauth2_token", "OUTREACH_IMAP__OAUTH2_REFRESH_TOKEN"),
        ({**_RENEWING, "oauth2_token": "ya29.x"}, "imap.oauth2_token", "not both"),
        ({**_RENEWING, "oauth2_client_id": ""}, "imap.oauth2_client_id", "required with imap.oauth2_token_url"),
        ({**_RENEWING, "oauth2_refresh_token": None}, "imap.oauth2_refresh_token", "required"),
        ({"host": "imap.acme.com", "username": "u"}, "imap.password", "required for LOGIN"),
    ],
)
def test_imap_credentials_that_cannot_work_name_the_setting(imap: dict[str, object], key: str, problem: str) -> None:
    from connectors.factory import imap_credentials

    with pytest.raises(ConfigError) as info:
        imap_credentials(Settings(imap=imap).imap)
    assert info.value.key == key
    assert problem in info.value.problem


def test_imap_credentials_renew_tokens_when_a_token_url_is_set() -> None:
    from connectors.factory import imap_credentials
    from connectors.oauth2 import RefreshingToken

    assert imap_credentials(Settings(imap={**_XOAUTH2, "oauth2_token": "ya29.x"}).imap) == (None, "ya29.x")
    password, token = imap_credentials(Settings(imap=_RENEWING).imap)
    assert password is None and isinstance(token, RefreshingToken)
    assert token.name == "oauth2 token endpoint https://oauth2.googleapis.com/token"
    assert token.renewals == 0  # nothing asked before the first login
