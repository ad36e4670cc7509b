"""The leaky bucket (429) and the sliding hourly quota (402)."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator
from airflow_toggl.emulator.limits import LeakyBucket, QuotaWindow

from .helpers import PASSWORD, FakeClock, with_cookie

Factory = Callable[..., TogglEmulator]


def token_auth(user: dict[str, Any]) -> tuple[str, str]:
    return (user["api_token"], "api_token")


# Leaky bucket ---------------------------------------------------------------------------


def test_bucket_overflow_is_429_with_an_html_body(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(rate_limit_strict=True, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    with requests.Session() as http:
        assert http.get(f"{em.url}/api/v9/me/logged", auth=token_auth(user)).status_code == 200
        limited = http.get(f"{em.url}/api/v9/me/logged", auth=token_auth(user))
        assert limited.status_code == 429
        assert limited.headers["Content-Type"].startswith("text/html")
        assert "<html>" in limited.text
        assert "Too Many Requests" in limited.text
        assert "Retry-After" not in limited.headers
        clock.advance(1.0)
        assert http.get(f"{em.url}/api/v9/me/logged", auth=token_auth(user)).status_code == 200
    counters = em.counters()
    assert counters["rate_limited"] == 1
    assert counters["responses"]["GET /api/v9/me/logged 429"] == 1


def test_burst_is_the_bucket_capacity(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(rate_limit_rps=1.0, rate_limit_burst=3, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    statuses = [
        requests.get(f"{em.url}/api/v9/me/logged", auth=token_auth(user), timeout=5).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    clock.advance(2.0)  # drains two units
    statuses = [
        requests.get(f"{em.url}/api/v9/me/logged", auth=token_auth(user), timeout=5).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_retry_after_in_seconds(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(rate_limit_rps=1.0, rate_limit_retry_after=3, clock=clock)
    requests.get(f"{em.url}/api/v9/me/logged", timeout=5)
    assert requests.get(f"{em.url}/api/v9/me/logged", timeout=5).headers["Retry-After"] == "3"


def test_retry_after_as_an_http_date(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(rate_limit_rps=0.5, rate_limit_retry_after="http-date", clock=clock)
    requests.get(f"{em.url}/api/v9/me/logged", timeout=5)
    header = requests.get(f"{em.url}/api/v9/me/logged", timeout=5).headers["Retry-After"]
    assert parsedate_to_datetime(header).timestamp() == clock.now + 2


def test_buckets_are_per_account_by_default(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(rate_limit_strict=True, clock=clock)
    alice = em.add_user("alice@example.com", PASSWORD)
    bob = em.add_user("bob@example.com", PASSWORD)
    assert requests.get(f"{em.url}/api/v9/me", auth=token_auth(alice), timeout=5).status_code == 200
    # Same user through another credential kind shares the bucket.
    assert (
        requests.get(f"{em.url}/api/v9/me", auth=("alice@example.com", PASSWORD), timeout=5).status_code
        == 429
    )
    assert requests.get(f"{em.url}/api/v9/me", auth=token_auth(bob), timeout=5).status_code == 200
    # Unauthenticated requests have their own (per-IP) bucket.
    assert requests.get(f"{em.url}/api/v9/me", timeout=5).status_code == 403
    assert requests.get(f"{em.url}/api/v9/me", timeout=5).status_code == 429


def logged(em: TogglEmulator, auth: Any = None, cookie: str | None = None) -> int:
    """Status of one ``GET /me/logged`` with the given credential."""
    headers = with_cookie(cookie) if cookie is not None else {}
    return requests.get(f"{em.url}/api/v9/me/logged", auth=auth, headers=headers, timeout=5).status_code


def test_strict_mode_admits_one_request_per_full_second(
    toggl_emulator_factory: Factory, clock: FakeClock
) -> None:
    em = toggl_emulator_factory(rate_limit_strict=True, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    assert logged(em, token_auth(user)) == 200
    clock.advance(0.999_999)
    assert logged(em, token_auth(user)) == 429
    clock.advance(0.000_001)  # one full second after the last admitted request
    assert logged(em, token_auth(user)) == 200
    statuses = []
    for _ in range(10):  # half-second spacing: every other request fits
        clock.advance(0.5)
        statuses.append(logged(em, token_auth(user)))
    assert statuses == [429, 200] * 5


def test_strict_mode_allows_no_burst_even_after_idling(
    toggl_emulator_factory: Factory, clock: FakeClock
) -> None:
    em = toggl_emulator_factory(rate_limit_strict=True, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    clock.advance(3600)
    assert [logged(em, token_auth(user)) for _ in range(3)] == [200, 429, 429]
    assert em.configure()["rate_limit_strict"] is True


def test_strict_mode_overrides_the_rate_and_burst_in_force(
    toggl_emulator_factory: Factory, clock: FakeClock
) -> None:
    em = toggl_emulator_factory(rate_limit_rps=None, clock=clock)
    em.configure(rate_limit_strict=True)
    assert [logged(em) for _ in range(2)] == [403, 429]
    em.configure(rate_limit_strict=False)
    assert logged(em) == 403  # back to the settings in force before: no limit


@pytest.mark.parametrize(
    "options",
    [
        {"rate_limit_strict": True, "rate_limit_rps": 2.0},
        {"rate_limit_strict": True, "rate_limit_burst": 3},
        {"rate_limit_strict": "yes"},
        {"rate_limit_key": "user"},
    ],
)
def test_strict_mode_and_bucket_key_are_validated(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(options))):
        TogglEmulator(**options)


def test_strict_mode_refuses_a_later_rate_change(em: TogglEmulator) -> None:
    em.configure(rate_limit_strict=True)
    with pytest.raises(ValueError, match="rate_limit_strict"):
        em.configure(rate_limit_rps=5.0)
    assert em.configure(rate_limit_strict=False, rate_limit_rps=5.0)["rate_limit_rps"] == 5.0


def test_per_credential_buckets(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(rate_limit_strict=True, rate_limit_key="credential", clock=clock)
    alice = em.add_user("alice@example.com", PASSWORD)
    first, second = em.issue_session("alice@example.com"), em.issue_session("alice@example.com")
    # Each credential of one account has its own bucket...
    assert logged(em, token_auth(alice)) == 200
    assert logged(em, ("alice@example.com", PASSWORD)) == 200
    assert logged(em, cookie=first) == 200
    assert logged(em, cookie=second) == 200
    # ...and each is still limited on its own.
    assert logged(em, token_auth(alice)) == 429
    assert logged(em, cookie=first) == 429
    # A wrong credential is counted too, apart from the right ones and from no credential.
    assert logged(em, ("alice@example.com", "wrong")) == 403
    assert logged(em, ("alice@example.com", "wrong")) == 429
    assert logged(em) == 403
    assert em.counters()["rate_limited"] == 3


def test_per_account_buckets_join_every_credential_of_an_account(
    toggl_emulator_factory: Factory, clock: FakeClock
) -> None:
    em = toggl_emulator_factory(rate_limit_strict=True, rate_limit_key="account", clock=clock)
    em.add_user("alice@example.com", PASSWORD)
    old, new = em.issue_session("alice@example.com"), em.issue_session("alice@example.com")
    # A rotation's verify (new cookie) then delete (old cookie), back to back: one bucket.
    assert logged(em, cookie=new) == 200
    assert requests.delete(f"{em.url}/api/sessions", headers=with_cookie(old), timeout=5).status_code == 429
    clock.advance(1.0)
    assert requests.delete(f"{em.url}/api/sessions", headers=with_cookie(old), timeout=5).status_code == 200


def test_bucket_key_can_change_while_running(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(rate_limit_strict=True, clock=clock)
    alice = em.add_user("alice@example.com", PASSWORD)
    assert logged(em, token_auth(alice)) == 200
    assert logged(em, ("alice@example.com", PASSWORD)) == 429
    assert em.configure(rate_limit_key="credential")["rate_limit_key"] == "credential"
    assert logged(em, ("alice@example.com", PASSWORD)) == 200


def test_a_rate_limited_request_does_nothing_else(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(rate_limit_strict=True, quota_limit=5, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5)
    assert (
        requests.post(f"{em.url}/api/v9/me/reset_token", auth=token_auth(user), timeout=5).status_code == 429
    )
    assert em.user("alice@example.com")["api_token"] == user["api_token"]  # type: ignore[index]
    assert em.quota("alice@example.com")["remaining"] == 4
    body = {"email": "alice@example.com", "password": PASSWORD}
    requests.post(f"{em.url}/api/sessions", json=body, timeout=5)  # anonymous bucket: admitted
    assert requests.post(f"{em.url}/api/sessions", json=body, timeout=5).status_code == 429
    assert len(em.live_sessions()) == 1


def test_rate_limit_can_be_turned_on_and_off(em: TogglEmulator) -> None:
    assert [requests.get(f"{em.url}/api/v9/me/logged", timeout=5).status_code for _ in range(3)] == [403] * 3
    em.configure(rate_limit_rps=0.001)
    assert [requests.get(f"{em.url}/api/v9/me/logged", timeout=5).status_code for _ in range(2)] == [403, 429]
    em.configure(rate_limit_rps=None)
    assert requests.get(f"{em.url}/api/v9/me/logged", timeout=5).status_code == 403


# Hourly quota ---------------------------------------------------------------------------


def test_quota_headers_count_down_then_402(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(quota_limit=3, quota_window=3600, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    remaining = []
    for step in range(3):
        response = requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5)
        assert response.status_code == 200
        remaining.append(response.headers["X-Toggl-Quota-Remaining"])
        assert response.headers["X-Toggl-Quota-Resets-In"] == str(3600 - 10 * step)
        clock.advance(10)
    assert remaining == ["2", "1", "0"]
    exceeded = requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5)
    assert exceeded.status_code == 402
    assert exceeded.headers["X-Toggl-Quota-Remaining"] == "0"
    assert exceeded.headers["X-Toggl-Quota-Resets-In"] == "3570"
    assert isinstance(exceeded.json(), str)  # Toggl's errors are JSON strings
    assert em.counters()["quota_exceeded"] == 1
    # The oldest request leaves the window: one more is allowed.
    clock.advance(3570)
    assert requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5).status_code == 200


def test_quota_recovers_after_a_short_window(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory(quota_limit=1, quota_window=1.0)
    user = em.add_user("alice@example.com", PASSWORD)
    assert requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5).status_code == 200
    exceeded = requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5)
    assert exceeded.status_code == 402
    assert exceeded.headers["X-Toggl-Quota-Resets-In"] in ("0", "1")
    time.sleep(1.1)
    assert requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5).status_code == 200


def test_me_logged_is_metered_unless_turned_off(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(quota_limit=1, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    logged = f"{em.url}/api/v9/me/logged"
    assert requests.get(logged, auth=token_auth(user), timeout=5).status_code == 200
    assert requests.get(logged, auth=token_auth(user), timeout=5).status_code == 402
    em.configure(meter_logged=False)
    for _ in range(3):
        response = requests.get(logged, auth=token_auth(user), timeout=5)
        assert response.status_code == 200
        assert response.headers["X-Toggl-Quota-Remaining"] == "0"  # the user quota's, though not counted


def test_quota_endpoint(toggl_emulator_factory: Factory, clock: FakeClock) -> None:
    em = toggl_emulator_factory(quota_limit=30, clock=clock)
    user = em.add_user("alice@example.com", PASSWORD)
    requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5)
    clock.advance(100)
    response = requests.get(f"{em.url}/api/v9/me/quota", auth=token_auth(user), timeout=5)
    assert response.json() == [
        {"organization_id": user["organization_id"], "remaining": 30, "resets_in_secs": 3600, "total": 30},
        {"organization_id": None, "remaining": 28, "resets_in_secs": 3500, "total": 30},
    ]
    assert response.headers["X-Toggl-Quota-Remaining"] == "28"
    assert em.quota("alice@example.com") == {
        "organization_id": None,
        "remaining": 28,
        "resets_in_secs": 3500,
        "total": 30,
    }


def test_quota_is_per_user_and_only_for_authenticated_track_requests(
    toggl_emulator_factory: Factory, clock: FakeClock
) -> None:
    em = toggl_emulator_factory(quota_limit=1, clock=clock)
    alice = em.add_user("alice@example.com", PASSWORD)
    bob = em.add_user("bob@example.com", PASSWORD)
    assert requests.get(f"{em.url}/api/v9/me", auth=token_auth(alice), timeout=5).status_code == 200
    assert requests.get(f"{em.url}/api/v9/me", auth=token_auth(alice), timeout=5).status_code == 402
    assert requests.get(f"{em.url}/api/v9/me", auth=token_auth(bob), timeout=5).status_code == 200
    refused = requests.get(f"{em.url}/api/v9/me", auth=("bob@example.com", "wrong"), timeout=5)
    assert refused.status_code == 403
    assert "X-Toggl-Quota-Remaining" not in refused.headers
    session = requests.post(
        f"{em.url}/api/sessions", json={"email": "alice@example.com", "password": PASSWORD}, timeout=5
    )
    assert session.status_code == 200
    assert "X-Toggl-Quota-Remaining" not in session.headers


def test_quota_off_means_no_headers_and_an_empty_list(em: TogglEmulator, alice: dict[str, Any]) -> None:
    response = requests.get(f"{em.url}/api/v9/me/quota", auth=token_auth(alice), timeout=5)
    assert response.json() == []
    assert "X-Toggl-Quota-Remaining" not in response.headers
    assert em.quota("alice@example.com")["remaining"] is None


def test_plan_restriction_402_has_no_quota_headers(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory(quota_limit=30)
    user = em.add_user("alice@example.com", PASSWORD)
    em.inject_fault("/api/v9/me", status=402, body={"message": "feature not available on your plan"})
    response = requests.get(f"{em.url}/api/v9/me", auth=token_auth(user), timeout=5)
    assert response.status_code == 402
    assert "X-Toggl-Quota-Remaining" not in response.headers
    assert "X-Toggl-Quota-Resets-In" not in response.headers


# Configuration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"cookie_style": "fancy"},
        {"session_ttl": -1},
        {"rate_limit_rps": 0},
        {"rate_limit_burst": 0},
        {"rate_limit_retry_after": "soon"},
        {"quota_limit": -1},
        {"quota_window": 0},
        {"clock": 5},
        {"colour": "blue"},
    ],
)
def test_invalid_options_are_refused(em: TogglEmulator, options: dict[str, Any]) -> None:
    before = em.configure()
    with pytest.raises(ValueError):  # noqa: PT011 - each option has its own message
        em.configure(**options)
    assert em.configure() == before
    if "colour" not in options:
        with pytest.raises(ValueError):  # noqa: PT011
            TogglEmulator(**options)


def test_configure_returns_the_settings(em: TogglEmulator) -> None:
    settings = em.configure(quota_limit=10, rate_limit_retry_after="http-date")
    assert settings["quota_limit"] == 10
    assert settings["rate_limit_retry_after"] == "http-date"
    assert "clock" not in settings


# The bookkeeping itself -----------------------------------------------------------------


def test_leaky_bucket_drains_continuously() -> None:
    bucket = LeakyBucket()
    assert bucket.offer(0.0, rps=2.0, capacity=2) is None
    assert bucket.offer(0.0, rps=2.0, capacity=2) is None
    assert bucket.offer(0.0, rps=2.0, capacity=2) == pytest.approx(0.5)
    assert bucket.offer(0.5, rps=2.0, capacity=2) is None


def test_quota_window_slides() -> None:
    window = QuotaWindow()
    assert window.resets_in(0.0, 60.0) == 60
    assert window.try_count(0.0, 2, 60.0)
    assert window.try_count(10.0, 2, 60.0)
    assert not window.try_count(20.0, 2, 60.0)
    assert window.resets_in(20.0, 60.0) == 40
    assert window.try_count(60.0, 2, 60.0)
    assert window.remaining(60.0, 2, 60.0) == 0
