"""Config file and store URL problems are ConfigErrors naming the file or the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from outreach.errors import ConfigError
from outreach.settings import load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("OUTREACH_")]:
        monkeypatch.delenv(key)


def test_config_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert (caught.value.key, caught.value.problem) == (str(tmp_path), "is a folder, not a config file")


def test_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"[team]\nname = '\xff'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.key == str(path) and "not UTF-8" in caught.value.problem


@pytest.mark.parametrize(
    "url", ["sqlite:///data/x.db", "sqlite://", "postgresql://me@db/outreach", "postgresql+psycopg://me@db/outreach"]
)
def test_supported_store_urls(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("OUTREACH_STORE__URL", url)
    assert load_settings().store.url == url


@pytest.mark.parametrize("url", ["mysql://me:hunter2@db/x", "postgresql+asyncpg://me:hunter2@db/x", "data/x.db"])
def test_unsupported_store_url_names_the_schemes_and_hides_the_url(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("OUTREACH_STORE__URL", url)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.key == "store.url"
    assert caught.value.problem.startswith("unsupported database")
    assert "sqlite://, postgresql://, postgresql+psycopg://" in caught.value.problem
    assert "hunter2" not in str(caught.value)


def test_validator_message_is_not_repeated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_TEAM__HOURS", "9-5")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(caught.value) == "team.hours: expected 'HH:MM-HH:MM', got '9-5'"
