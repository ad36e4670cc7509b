"""The session store: its JSON shape, round trips, session labels and refusal of corrupt values."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_toggl.exceptions import TogglConfigError
from airflow_toggl.sessions.store import (
    SessionStore,
    StoredSession,
    default_session_key,
    looks_sensitive,
    session_label,
)
from devkit.doubles import MemoryVariables
from tests.support.fakes import NOW, make_session

KEY = "toggl_session_secret__toggl_default"


def test_default_key_is_secret_looking() -> None:
    assert default_session_key("toggl_default") == KEY
    assert looks_sensitive(KEY)
    assert not looks_sensitive("toggl_session")


def test_round_trip_through_airflow_variable(variables: MemoryVariables) -> None:
    store = SessionStore(KEY)
    current, old = make_session(), make_session(timedelta(days=1))
    store.save(current, user_id=42, stale=[old], created_at=NOW)

    raw = json.loads(variables.data[KEY])
    assert set(raw) == {
        "version",
        "session_token",
        "expires_at",
        "user_id",
        "created_at",
        "stale_session_tokens",
    }
    assert raw["session_token"] == current.cookie
    assert raw["expires_at"] == current.expires_at.isoformat()
    assert raw["user_id"] == 42
    assert raw["created_at"] == NOW.isoformat()
    assert raw["stale_session_tokens"] == [
        {"session_token": old.cookie, "expires_at": old.expires_at.isoformat()}
    ]

    loaded = store.load()
    assert loaded is not None
    assert loaded.session == current
    assert loaded.user_id == 42
    assert loaded.created_at == NOW
    assert loaded.stale == (old,)
    assert loaded.holds(current)
    assert not loaded.holds(old)


def test_a_session_label_names_a_session_without_its_value() -> None:
    session, other = make_session(), make_session()
    label = session_label(session)
    assert session.cookie not in label
    assert not any(part in label for part in session.cookie.split("."))
    assert label == session_label(session)
    assert label != session_label(other)
    assert session.expires_at.isoformat() in label


def test_stale_list_drops_duplicates_and_the_current_session(variables: MemoryVariables) -> None:
    current, old = make_session(), make_session()
    stored = SessionStore(KEY).save(current, user_id=1, stale=[old, old, current])
    assert stored.stale == (old,)


def test_missing_and_empty_values_load_as_none(variables: MemoryVariables) -> None:
    store = SessionStore(KEY)
    assert store.load() is None
    variables.data[KEY] = "  "
    assert store.load() is None


def test_clear_is_idempotent(variables: MemoryVariables) -> None:
    store = SessionStore(KEY)
    store.clear()
    store.save(make_session(), user_id=1)
    store.clear()
    assert KEY not in variables.data
    store.clear()


def test_non_jwt_cookie_keeps_the_recorded_expiry(variables: MemoryVariables) -> None:
    opaque = make_session(None)
    assert opaque.expires_at is None
    store = SessionStore(KEY)
    store.save(opaque, user_id=1)
    assert store.load().session.expires_at is None
    raw = json.loads(variables.data[KEY])
    raw["expires_at"] = "2026-04-01T00:00:00+00:00"
    variables.data[KEY] = json.dumps(raw)
    assert store.load().session.expires_at == datetime(2026, 4, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "raw",
    [
        "not json at all eyJsecretcookie",
        '["eyJsecretcookie"]',
        '{"session_token": ""}',
        '{"expires_at": "2026-01-01"}',
        '{"session_token": "eyJsecretcookie", "user_id": "42"}',
        '{"session_token": "eyJsecretcookie", "created_at": "yesterday"}',
        '{"session_token": "eyJsecretcookie", "stale_session_tokens": "eyJsecretcookie"}',
        '{"session_token": "eyJsecretcookie", "stale_session_tokens": [{"session_token": 5}]}',
    ],
)
def test_corrupt_value_names_the_key_never_the_value(variables: MemoryVariables, raw: str) -> None:
    variables.data[KEY] = raw
    with pytest.raises(TogglConfigError) as info:
        SessionStore(KEY).load()
    message = str(info.value)
    assert KEY in message
    assert "eyJsecretcookie" not in message
    # No chained exception carries the raw value into a traceback.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_repr_hides_cookies() -> None:
    current, old = make_session(), make_session()
    stored = StoredSession(key=KEY, session=current, user_id=42, stale=(old,))
    for text in (repr(stored), str(stored)):
        assert current.cookie not in text
        assert old.cookie not in text
        assert "user_id=42" in text
        assert "stale=1" in text


def test_empty_key_is_refused() -> None:
    with pytest.raises(TogglConfigError) as info:
        SessionStore("  ")
    assert info.value.field == "session_key"


def test_construction_touches_no_variable(
    variables: MemoryVariables, monkeypatch: pytest.MonkeyPatch
) -> None:
    touched: list[str] = []
    monkeypatch.setattr(MemoryVariables, "get", lambda self, key: touched.append(key))
    SessionStore(KEY)
    SessionStore.for_connection("other")
    assert touched == []


@settings(max_examples=50, deadline=None)
@given(
    user_id=st.none() | st.integers(min_value=1, max_value=2**53),
    days=st.integers(min_value=-30, max_value=60),
    stale_count=st.integers(min_value=0, max_value=4),
)
def test_any_session_round_trips(user_id: int | None, days: int, stale_count: int) -> None:
    memory = MemoryVariables()
    store = SessionStore(KEY, variables=memory)
    current = make_session(timedelta(days=days))
    stale = [make_session(timedelta(days=days + i)) for i in range(stale_count)]
    written = store.save(current, user_id=user_id, stale=stale, created_at=NOW)
    loaded = store.load()
    assert loaded == written
