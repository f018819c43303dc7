"""Tokens of the links in emails: never a guessable key, bound to purpose and values."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from flows import signing
from flows.errors import ConfigurationError
from flows.links import unsubscribe_links
from flows.settings import Settings
from flows.signing import (
    RESUBSCRIBE,
    UNSUBSCRIBE,
    WORKLIST_ACTION,
    installation_secret,
    make_token,
    secret_fingerprint,
    verify_token,
)

DAY = date(2026, 11, 2)


def _settings(home: Path, **values: object) -> Settings:
    return Settings(home=home, _env_file=None, **values)  # type: ignore[call-arg]


def _token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_without_a_configured_secret_each_installation_generates_its_own(tmp_path: Path) -> None:
    first = _settings(tmp_path / "bank-a")
    second = _settings(tmp_path / "bank-b")
    link_a = unsubscribe_links(first, "C0000001", DAY).https
    link_b = unsubscribe_links(second, "C0000001", DAY).https
    assert _token_of(link_a) != _token_of(link_b)
    key_file = first.home_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) == 64
    # The same installation signs the same client's link the same way every time.
    assert unsubscribe_links(first, "C0000001", DAY).https == link_a


def test_a_token_made_with_the_sender_address_as_key_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    secret = installation_secret(settings)
    # What the links of earlier versions were signed with: the From address.
    forged_old = hmac.new(settings.mail_from.encode(), b"C0000001", hashlib.sha256).hexdigest()[:32]
    forged_new = make_token(settings.mail_from.encode(), UNSUBSCRIBE, ("C0000001",), DAY)
    for forged in (forged_old, forged_new):
        check = verify_token(secret, UNSUBSCRIBE, ("C0000001",), forged, today=DAY)
        assert not check
    genuine = _token_of(unsubscribe_links(settings, "C0000001", DAY).https)
    assert verify_token(secret, UNSUBSCRIBE, ("C0000001",), genuine, today=DAY)


def test_tokens_are_bound_to_purpose_and_values() -> None:
    key = b"k" * 32
    token = make_token(key, UNSUBSCRIBE, ("C1",), DAY)
    assert verify_token(key, UNSUBSCRIBE, ("C1",), token, today=DAY)
    assert verify_token(key, UNSUBSCRIBE, ("C2",), token, today=DAY).reason == "signature"
    assert verify_token(key, RESUBSCRIBE, ("C1",), token, today=DAY).reason == "signature"
    assert verify_token(b"x" * 32, UNSUBSCRIBE, ("C1",), token, today=DAY).reason == "signature"
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert not verify_token(key, UNSUBSCRIBE, ("C1",), altered, today=DAY)
    # An altered issue date breaks the signature: it is signed too.
    assert not verify_token(
        key, UNSUBSCRIBE, ("C1",), token.replace("20261102", "20261201"), today=DAY
    )
    for junk in ("", "v1", "v1.2026.x", "v2.20261102." + token.split(".")[2], "x" * 500):
        assert verify_token(key, UNSUBSCRIBE, ("C1",), junk, today=DAY).reason == "malformed"


def test_worklist_tokens_expire_and_tokens_from_the_future_are_refused() -> None:
    key = b"k" * 32
    bound = ("A01", "C1", "2026-11-02", "called")
    token = make_token(key, WORKLIST_ACTION, bound, DAY)
    assert verify_token(
        key, WORKLIST_ACTION, bound, token, today=date(2026, 11, 16), max_age_days=14
    )
    late = verify_token(
        key, WORKLIST_ACTION, bound, token, today=date(2026, 11, 17), max_age_days=14
    )
    assert late.reason == "expired"
    future = make_token(key, WORKLIST_ACTION, bound, date(2026, 12, 24))
    assert (
        verify_token(key, WORKLIST_ACTION, bound, future, today=DAY).reason
        == "issued in the future"
    )


def test_the_mailto_subject_carries_the_token_too(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    links = unsubscribe_links(settings, "C0000007", DAY)
    subject = unquote(parse_qs(urlsplit(links.mailto).query)["subject"][0])
    word, client, token = subject.split(" ")
    assert (word, client) == ("unsubscribe", "C0000007")
    assert token == _token_of(links.https)
    assert verify_token(installation_secret(settings), UNSUBSCRIBE, ("C0000007",), token, today=DAY)


def test_a_configured_secret_is_used_and_must_be_long(tmp_path: Path) -> None:
    settings = _settings(tmp_path, unsubscribe_secret="s" * 40)
    assert installation_secret(settings) == b"s" * 40
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(ConfigurationError, match="VOTUM_UNSUBSCRIBE_SECRET"):
        installation_secret(_settings(tmp_path, unsubscribe_secret="short"))


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "lax"
    home.mkdir()
    key = home / "secret.key"
    key.write_text("a" * 64)
    os.chmod(key, 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        installation_secret(_settings(home))


def test_the_fingerprint_names_the_key_without_revealing_it() -> None:
    assert secret_fingerprint(b"a" * 32) != secret_fingerprint(b"b" * 32)
    assert "a" * 8 not in secret_fingerprint(b"a" * 32)
    assert len(secret_fingerprint(b"a" * 32)) == 16


def test_processes_starting_at_once_all_read_one_whole_key(tmp_path: Path) -> None:
    # Many creators at once (threads here, processes in life): each reads the same,
    # complete key; none reads a file still being written.
    path = tmp_path / "home" / "secret.key"
    read_key = signing._generated_secret.__wrapped__
    with ThreadPoolExecutor(max_workers=16) as pool:
        keys = set(pool.map(lambda _: read_key(path), range(64)))
    assert len(keys) == 1 and len(next(iter(keys))) == 64
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no drafts left
