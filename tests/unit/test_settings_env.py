"""Environment variables: a value that must be JSON, and misspelled sections, are config errors naming the variable."""

from __future__ import annotations

import os

import pytest

from outreach.errors import ConfigError
from outreach.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("OUTREACH_")]:
        monkeypatch.delenv(key)


def error_for(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> ConfigError:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return caught.value


def test_list_that_is_not_json_names_the_key_the_variable_and_an_example(monkeypatch: pytest.MonkeyPatch) -> None:
    err = error_for(monkeypatch, "OUTREACH_TEAM__ADDRESSES", "help@acme.com")
    assert err.key == "team.addresses"
    assert err.problem.startswith("OUTREACH_TEAM__ADDRESSES must be JSON, e.g. '[\"help@acme.com\"]'")


def test_comma_list_example_keeps_every_item(monkeypatch: pytest.MonkeyPatch) -> None:
    err = error_for(monkeypatch, "OUTREACH_TEAM__DOMAINS", "acme.com, acme.org")
    assert "e.g. '[\"acme.com\", \"acme.org\"]'" in err.problem


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("OUTREACH_CAPACITY__AGENTS", '[{"name": "Kim"', "capacity.agents"),
        ("OUTREACH_DETECTION__PRIORITY_BASE", "call=50", "detection.priority_base"),
        ("OUTREACH_CAPACITY__REPLY_RATE_PRIOR", "{survey: 0.3}", "capacity.reply_rate_prior"),
        ("OUTREACH_TEAM", "{bad", "team"),
    ],
)
def test_malformed_json_in_any_complex_value(monkeypatch: pytest.MonkeyPatch, name: str, value: str, key: str) -> None:
    err = error_for(monkeypatch, name, value)
    assert err.key == key
    assert f"{name} must be JSON" in err.problem


def test_json_values_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_TEAM__ADDRESSES", '["Help@Acme.com"]')
    monkeypatch.setenv("OUTREACH_CAPACITY__REPLY_RATE_PRIOR__SURVEY", "0.3")
    monkeypatch.setenv("OUTREACH_IMAP__PASSWORD", "not json and not a list")
    s = load_settings()
    assert s.team.addresses == ["help@acme.com"]
    assert s.capacity.reply_rate_prior.survey == 0.3
    assert s.imap.password is not None and s.imap.password.get_secret_value() == "not json and not a list"


def test_misspelled_section_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    err = error_for(monkeypatch, "OUTREACH_THROTLE__MAX_PER_HOUR", "5")
    assert err.key == "OUTREACH_THROTLE__MAX_PER_HOUR"
    assert err.problem == "unknown settings section 'throtle'; did you mean 'throttle'?"


def test_misspelled_nested_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    err = error_for(monkeypatch, "OUTREACH_CAPACITY__REPLY_RATE_PRIOR__SURVEYY", "0.3")
    assert err.key == "capacity.reply_rate_prior.surveyy"
    assert "OUTREACH_CAPACITY__REPLY_RATE_PRIOR__SURVEYY" in err.problem


@pytest.mark.parametrize(
    "name", ["OUTREACH_CONFIG_DIR", "OUTREACH_HOME", "OUTREACH_BENCH_INGEST_MESSAGES", "OUTREACH_BENCH__X", "OUTREACH_FOO"]
)
def test_outreach_variables_that_are_not_settings_are_left_alone(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, "20000")
    load_settings()
