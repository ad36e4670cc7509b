"""HTTPS with a generated CA: verification succeeds with the bundle and fails without it."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from airflow_toggl.emulator import TogglEmulator

from .helpers import PASSWORD, cookie_from, with_cookie

Factory = Callable[..., TogglEmulator]


def test_https_with_the_ca_bundle(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory(tls=True)
    assert em.url.startswith("https://127.0.0.1:")
    assert em.ca_bundle is not None
    user = em.add_user("alice@example.com", PASSWORD)
    with requests.Session() as http:
        # Per request: a session-level ``verify`` loses to REQUESTS_CA_BUNDLE in the environment.
        tls = {"verify": em.ca_bundle, "timeout": 5}
        body = {"email": "alice@example.com", "password": PASSWORD}
        created = http.post(f"{em.url}/api/sessions", json=body, **tls)
        me = http.get(f"{em.url}/api/v9/me", headers=with_cookie(cookie_from(created)), **tls)
        assert me.json()["id"] == user["id"]
        http.get(f"{em.url}/api/v9/me/logged", auth=(user["api_token"], "api_token"), **tls)
    assert em.counters()["connections"] == 1


def test_localhost_name_is_in_the_certificate(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory(tls=True)
    url = em.url.replace("127.0.0.1", "localhost")
    assert requests.get(f"{url}/_emulator/health", verify=em.ca_bundle, timeout=5).status_code == 200


def test_verification_fails_without_the_bundle(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory(tls=True)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{em.url}/_emulator/health", timeout=5)
    # A failed handshake does not disturb the server.
    assert requests.get(f"{em.url}/_emulator/health", verify=em.ca_bundle, timeout=5).status_code == 200


def test_plain_http_to_a_tls_port_fails_cleanly(toggl_emulator_factory: Factory) -> None:
    em = toggl_emulator_factory(tls=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(em.url.replace("https://", "http://") + "/_emulator/health", timeout=5)


def test_certificates_go_to_tls_dir(toggl_emulator_factory: Factory, tmp_path: Path) -> None:
    em = toggl_emulator_factory(tls=True, tls_dir=tmp_path / "certs")
    assert em.ca_bundle == str(tmp_path / "certs" / "ca.pem")
    assert {p.name for p in (tmp_path / "certs").iterdir()} == {"ca.pem", "server.pem", "server-key.pem"}
    assert (tmp_path / "certs" / "server-key.pem").stat().st_mode & 0o077 == 0
    context = ssl.create_default_context(cafile=em.ca_bundle)
    assert context.cert_store_stats()["x509_ca"] == 1
    em.stop()
    assert (tmp_path / "certs" / "ca.pem").exists()  # a chosen directory is kept


def test_temporary_certificates_are_removed_on_stop() -> None:
    em = TogglEmulator(tls=True).start()
    bundle = Path(em.ca_bundle or "")
    assert bundle.exists()
    em.stop()
    assert not bundle.exists()
    assert em.ca_bundle is None
