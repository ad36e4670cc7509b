"""Each rotation step alone, with a fault at that step (scripted hook, in-memory Variables)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from airflow_toggl.exceptions import TogglAuthError, TogglConnectionError, TogglError
from airflow_toggl.sessions.rotation import (
    SessionRotator,
    TogglIdentityMismatchError,
    check_identity,
    public_identity,
)
from airflow_toggl.sessions.store import SessionStore
from devkit.doubles import MemoryVariables
from tests.support.fakes import NOW, FakeHook, make_session

KEY = "toggl_session_secret__toggl_default"
WEEK = timedelta(days=7)


@pytest.fixture
def memory() -> MemoryVariables:
    return MemoryVariables()


@pytest.fixture
def store(memory: MemoryVariables) -> SessionStore:
    return SessionStore(KEY, variables=memory)


def rotator(hook: FakeHook, store: SessionStore, **kwargs) -> SessionRotator:
    return SessionRotator(hook, store, clock=lambda: NOW, **kwargs)


def seed(hook: FakeHook, store: SessionStore, expires_in: timedelta, *, stale=()) -> object:
    """Put a live session expiring in ``expires_in`` into the store."""
    session = make_session(expires_in)
    hook.live.add(session.cookie)
    store.save(session, user_id=42, stale=stale, created_at=NOW)
    return session


# -- step 1: is a rotation due? ----------------------------------------------------------------


def test_fresh_session_is_kept(fake_hook: FakeHook, store: SessionStore) -> None:
    current = seed(fake_hook, store, timedelta(days=20))
    outcome = rotator(fake_hook, store).rotate(WEEK)
    assert outcome.rotated is False
    assert outcome.previous_deleted is None
    assert store.load().holds(current)
    assert fake_hook.created == []
    assert outcome.to_xcom()["expires_at"] == current.expires_at.isoformat()


@pytest.mark.parametrize(
    ("expires_in", "live", "due"),
    [
        (timedelta(days=20), True, False),
        (timedelta(days=7), True, True),
        (timedelta(days=3), True, True),
        (timedelta(days=-1), True, True),
        (None, True, True),
        (timedelta(days=20), False, True),
    ],
)
def test_due(fake_hook: FakeHook, store: SessionStore, expires_in, live: bool, due: bool) -> None:
    session = make_session(expires_in)
    if live:
        fake_hook.live.add(session.cookie)
    stored = store.save(session, user_id=1)
    assert rotator(fake_hook, store).due(stored, WEEK) is due


def test_liveness_is_not_asked_when_expiry_already_decides(fake_hook: FakeHook, store: SessionStore) -> None:
    stored = store.save(make_session(timedelta(days=1)), user_id=1)
    assert rotator(fake_hook, store).due(stored, WEEK) is True
    assert "identity_of" not in fake_hook.calls


def test_without_check_live_a_fresh_session_is_trusted(fake_hook: FakeHook, store: SessionStore) -> None:
    stored = store.save(make_session(timedelta(days=20)), user_id=1)
    assert rotator(fake_hook, store, check_live=False).due(stored, WEEK) is False
    assert fake_hook.calls == []


def test_a_fresh_session_of_another_user_is_not_kept(fake_hook: FakeHook, store: SessionStore) -> None:
    current = seed(fake_hook, store, timedelta(days=20))
    fake_hook.identity_override = {"id": 7, "email": "eve@example.com"}
    with pytest.raises(TogglIdentityMismatchError):
        rotator(fake_hook, store).rotate(WEEK)
    assert store.load().holds(current)
    assert fake_hook.created == []
    assert fake_hook.deleted == []


def test_empty_store_gets_a_session(fake_hook: FakeHook, store: SessionStore) -> None:
    outcome = rotator(fake_hook, store).rotate(WEEK)
    new = fake_hook.created[0]
    assert outcome.rotated is True
    assert outcome.previous_deleted is None
    assert outcome.user_id == 42
    assert store.load().holds(new)
    assert store.load().stale == ()


def test_due_session_is_replaced_and_deleted(fake_hook: FakeHook, store: SessionStore) -> None:
    old = seed(fake_hook, store, timedelta(days=2))
    outcome = rotator(fake_hook, store).rotate(WEEK)
    new = fake_hook.created[0]
    assert outcome.rotated is True
    assert outcome.previous_deleted is True
    assert outcome.stale_pending == 0
    assert fake_hook.deleted == [old.cookie]
    stored = store.load()
    assert stored.holds(new)
    assert stored.stale == ()
    xcom = outcome.to_xcom()
    assert set(xcom) == {
        "session_key",
        "rotated",
        "user_id",
        "expires_at",
        "previous_deleted",
        "stale_pending",
    }
    assert new.cookie not in str(xcom)
    assert old.cookie not in str(xcom)


# -- step 2: create ----------------------------------------------------------------------------


def test_create_failure_leaves_the_store_untouched(
    fake_hook: FakeHook, store: SessionStore, memory: MemoryVariables
) -> None:
    seed(fake_hook, store, timedelta(days=1))
    before = dict(memory.data)
    fake_hook.fail["create_session"] = TogglAuthError("refused", status_code=403)
    with pytest.raises(TogglAuthError):
        rotator(fake_hook, store).rotate(WEEK)
    assert memory.data == before
    assert fake_hook.deleted == []


# -- step 3: verify ----------------------------------------------------------------------------


def test_identity_mismatch_deletes_the_new_session(
    fake_hook: FakeHook, store: SessionStore, memory: MemoryVariables
) -> None:
    old = seed(fake_hook, store, timedelta(days=1))
    before = dict(memory.data)
    fake_hook.identity_override = {"id": 7, "email": "eve@example.com"}
    with pytest.raises(TogglIdentityMismatchError) as info:
        rotator(fake_hook, store).rotate(WEEK)
    assert info.value.field == "email"
    assert "ada@example.com" in str(info.value)
    assert "eve@example.com" in str(info.value)
    assert fake_hook.deleted == [fake_hook.created[0].cookie]
    assert memory.data == before
    assert old.cookie in fake_hook.live


def test_verify_error_deletes_the_new_session(fake_hook: FakeHook, store: SessionStore, memory) -> None:
    seed(fake_hook, store, timedelta(days=1))
    before = dict(memory.data)
    fake_hook.fail["identity_of"] = TogglConnectionError("dropped")
    with pytest.raises(TogglConnectionError):
        rotator(fake_hook, store).rotate(WEEK)
    assert fake_hook.deleted == [fake_hook.created[0].cookie]
    assert memory.data == before


def test_failed_cleanup_does_not_hide_the_original_error(fake_hook: FakeHook, store: SessionStore) -> None:
    fake_hook.fail["identity_of"] = TogglConnectionError("dropped")
    fake_hook.fail["delete_session"] = TogglConnectionError("also dropped")
    with pytest.raises(TogglConnectionError, match=r"^dropped$"):
        rotator(fake_hook, store).rotate(WEEK)


def test_without_connection_email_the_id_of_me_is_compared(fake_hook: FakeHook, store: SessionStore) -> None:
    fake_hook.settings.email = None
    fake_hook.identity_override = {"id": 7, "email": "ada@example.com"}
    with pytest.raises(TogglIdentityMismatchError) as info:
        rotator(fake_hook, store).rotate(WEEK)
    assert info.value.field == "id"
    assert "get_me" in fake_hook.calls


def test_expected_email_none_skips_the_comparison(fake_hook: FakeHook, store: SessionStore) -> None:
    fake_hook.identity_override = {"id": 7, "email": "other@example.com"}
    outcome = rotator(fake_hook, store, expected_email=None).create()
    assert outcome.user_id == 7


# -- step 4: write -----------------------------------------------------------------------------


def test_write_failure_deletes_the_new_session(
    fake_hook: FakeHook, store: SessionStore, memory: MemoryVariables
) -> None:
    old = seed(fake_hook, store, timedelta(days=1))
    before = dict(memory.data)
    memory.fail_set = 1
    with pytest.raises(RuntimeError, match="variable write refused"):
        rotator(fake_hook, store).rotate(WEEK)
    assert fake_hook.deleted == [fake_hook.created[0].cookie]
    assert memory.data == before
    assert old.cookie in fake_hook.live


def test_old_session_is_listed_as_pending_before_it_is_deleted(
    fake_hook: FakeHook, store: SessionStore
) -> None:
    """A crash between writing the new session and deleting the old one loses nothing."""
    old = seed(fake_hook, store, timedelta(days=1))
    snapshots = []
    real_delete = fake_hook.delete_session

    def snapshot_then_delete(session=None):
        snapshots.append(store.load())
        return real_delete(session)

    fake_hook.delete_session = snapshot_then_delete
    rotator(fake_hook, store).rotate(WEEK)
    at_delete = snapshots[0]
    assert at_delete.holds(fake_hook.created[0])
    assert [s.cookie for s in at_delete.stale] == [old.cookie]


# -- step 5: read back (races) -----------------------------------------------------------------


class RacingVariables(MemoryVariables):
    """Another writer stores its own session right after ours."""

    def __init__(self, rival_value: str | None) -> None:
        super().__init__()
        self.rival_value = rival_value
        self.armed = False

    def set(self, key: str, value: str) -> None:
        super().set(key, value)
        if self.armed:
            self.armed = False
            if self.rival_value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = self.rival_value


def test_lost_race_keeps_the_winner_and_deletes_ours(fake_hook: FakeHook) -> None:
    rival_memory = MemoryVariables()
    rival = make_session(timedelta(days=28))
    SessionStore(KEY, variables=rival_memory).save(rival, user_id=42, created_at=NOW)
    memory = RacingVariables(rival_memory.data[KEY])
    store = SessionStore(KEY, variables=memory)
    seed(fake_hook, store, timedelta(days=1))
    memory.armed = True
    outcome = rotator(fake_hook, store).rotate(WEEK)
    ours = fake_hook.created[0]
    assert outcome.rotated is False
    assert outcome.expires_at == rival.expires_at
    assert fake_hook.deleted == [ours.cookie]
    assert store.load().holds(rival)


def test_store_cleared_during_rotation_raises_and_deletes_ours(fake_hook: FakeHook) -> None:
    memory = RacingVariables(None)
    store = SessionStore(KEY, variables=memory)
    memory.armed = True
    with pytest.raises(TogglError, match="was cleared"):
        rotator(fake_hook, store).rotate(WEEK)
    assert fake_hook.deleted == [fake_hook.created[0].cookie]


# -- step 6: delete the old session ------------------------------------------------------------


def test_old_delete_failure_is_kept_for_the_next_run(fake_hook: FakeHook, store: SessionStore) -> None:
    old = seed(fake_hook, store, timedelta(days=1))
    fake_hook.fail_delete_for.add(old.cookie)
    outcome = rotator(fake_hook, store).rotate(WEEK)
    assert outcome.rotated is True
    assert outcome.previous_deleted is False
    assert outcome.stale_pending == 1
    assert [s.cookie for s in store.load().stale] == [old.cookie]

    # The next run (nothing due) finishes the job.
    fake_hook.fail_delete_for.clear()
    again = rotator(fake_hook, store).rotate(WEEK)
    assert again.rotated is False
    assert again.stale_pending == 0
    assert store.load().stale == ()
    assert old.cookie not in fake_hook.live


def test_already_invalid_old_session_counts_as_deleted(fake_hook: FakeHook, store: SessionStore) -> None:
    old = seed(fake_hook, store, timedelta(days=1))
    fake_hook.live.discard(old.cookie)
    outcome = rotator(fake_hook, store).rotate(WEEK)
    assert outcome.previous_deleted is True
    assert store.load().stale == ()


def test_earlier_leftovers_get_a_delete_even_when_their_expiry_has_passed(
    fake_hook: FakeHook, store: SessionStore
) -> None:
    """An expiry read from a cookie is a hint (clocks drift): only Toggl's answer counts."""
    leftover = make_session(timedelta(days=10))
    expired = make_session(timedelta(days=-1))
    fake_hook.live.update({leftover.cookie, expired.cookie})
    seed(fake_hook, store, timedelta(days=1), stale=[leftover, expired])
    outcome = rotator(fake_hook, store).rotate(WEEK)
    assert outcome.stale_pending == 0
    assert {leftover.cookie, expired.cookie} <= set(fake_hook.deleted)
    assert expired.cookie not in fake_hook.live
    assert store.load().stale == ()


def test_a_refused_delete_of_a_session_toggl_still_accepts_keeps_it_listed(
    fake_hook: FakeHook, store: SessionStore
) -> None:
    old = seed(fake_hook, store, timedelta(days=1))
    real_delete = fake_hook.delete_session

    def refuse_old(session=None):
        return False if session.cookie == old.cookie else real_delete(session)

    fake_hook.delete_session = refuse_old
    outcome = rotator(fake_hook, store).rotate(WEEK)
    assert outcome.previous_deleted is False
    assert [s.cookie for s in store.load().stale] == [old.cookie]
    assert fake_hook.liveness_checks == [old.cookie]


def test_failed_list_update_still_succeeds(fake_hook: FakeHook, store: SessionStore, memory) -> None:
    seed(fake_hook, store, timedelta(days=1))
    real_set = memory.set
    writes = []

    def second_write_fails(key, value):
        writes.append(key)
        if len(writes) == 2:
            raise RuntimeError("variable write refused")
        real_set(key, value)

    memory.set = second_write_fails
    outcome = rotator(fake_hook, store).rotate(WEEK)
    assert outcome.rotated is True
    assert store.load().holds(fake_hook.created[0])
    assert len(store.load().stale) == 1  # the deleted old session is retried (harmlessly) next time


# -- retire ------------------------------------------------------------------------------------


def test_retire_deletes_and_clears(fake_hook: FakeHook, store: SessionStore, memory) -> None:
    current = seed(fake_hook, store, timedelta(days=10))
    assert rotator(fake_hook, store).retire() is True
    assert current.cookie not in fake_hook.live
    assert KEY not in memory.data


def test_retire_of_a_gone_session_and_an_empty_store(fake_hook: FakeHook, store: SessionStore) -> None:
    current = seed(fake_hook, store, timedelta(days=10))
    fake_hook.live.discard(current.cookie)
    assert rotator(fake_hook, store).retire() is False
    assert rotator(fake_hook, store).retire() is None


def test_retire_network_failure_keeps_the_store(fake_hook: FakeHook, store: SessionStore, memory) -> None:
    current = seed(fake_hook, store, timedelta(days=10))
    fake_hook.fail_delete_for.add(current.cookie)
    before = dict(memory.data)
    with pytest.raises(TogglConnectionError):
        rotator(fake_hook, store).retire()
    assert memory.data == before


# -- identity helpers --------------------------------------------------------------------------


def test_check_identity_compares_loosely_and_names_the_field() -> None:
    me = {"id": 42, "email": "Ada@Example.com", "default_workspace_id": 9}
    check_identity(me, email="ada@example.com ", user_id="42", workspace_id=9)
    with pytest.raises(TogglIdentityMismatchError) as info:
        check_identity(me, workspace_id="10")
    assert info.value.field == "default_workspace_id"
    assert "'10'" in str(info.value)
    assert "9" in str(info.value)


def test_public_identity_drops_secrets() -> None:
    me = {
        "id": 1,
        "email": "a@b.c",
        "api_token": "secret-token",
        "intercom_hash": "secret-hash",
        "fullname": "A",
    }
    identity = public_identity(me)
    assert "api_token" not in identity
    assert "intercom_hash" not in identity
    assert identity["fullname"] == "A"


def test_mismatch_error_pickles() -> None:
    import pickle

    error = pickle.loads(pickle.dumps(TogglIdentityMismatchError("email", "a@b.c", "x@y.z")))  # noqa: S301
    assert (error.field, error.expected, error.actual) == ("email", "a@b.c", "x@y.z")
