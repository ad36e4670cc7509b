"""The library internals ``airflow_toggl/client/wire.py`` relies on are still where it reaches for them.

The deadline and the strict end of headers need four things no public API offers. Should an upgrade
of ``requests``, ``urllib3`` or Python move one, these tests fail naming it, before the guarantees
quietly stop holding (``test_wire.py`` then shows what broke on a real socket).
"""

from __future__ import annotations

import http.client
import inspect
import socket

import requests
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from airflow_toggl.client.wire import GuardedAdapter, GuardedResponse, guard_session


def test_http_client_reads_status_and_headers_through_fp_readline() -> None:
    source = inspect.getsource(http.client.HTTPResponse.begin) + inspect.getsource(
        http.client.HTTPResponse._read_status  # type: ignore[attr-defined]
    )
    assert "self.fp.readline" in source, "http.client no longer reads headers through HTTPResponse.fp"
    left, right = socket.socketpair()
    try:
        response = http.client.HTTPResponse(left)
        assert hasattr(response, "fp"), "http.client.HTTPResponse no longer keeps its socket file as fp"
    finally:
        left.close()
        right.close()


def test_urllib3_builds_responses_and_connections_from_class_attributes() -> None:
    assert HTTPConnection.response_class is http.client.HTTPResponse, "urllib3 dropped response_class"
    assert issubclass(HTTPSConnection, HTTPConnection)
    assert HTTPConnectionPool.ConnectionCls is HTTPConnection, "urllib3 dropped ConnectionCls"
    assert HTTPSConnectionPool.ConnectionCls is HTTPSConnection


def test_the_guarded_adapter_installs_its_pools_and_responses() -> None:
    adapter = GuardedAdapter()
    pools = adapter.poolmanager.pool_classes_by_scheme
    assert {scheme: pool.ConnectionCls.response_class for scheme, pool in pools.items()} == {
        "http": GuardedResponse,
        "https": GuardedResponse,
    }, "requests' HTTPAdapter no longer takes pool classes from pool_classes_by_scheme"
    pool = adapter.poolmanager.connection_from_url("http://127.0.0.1:9")
    assert pool.ConnectionCls.response_class is GuardedResponse


def test_guard_session_mounts_the_adapter_and_keeps_one_mounted_on_purpose() -> None:
    session = guard_session(requests.Session())
    assert isinstance(session.get_adapter("https://api.track.toggl.com"), GuardedAdapter)

    class Custom(requests.adapters.HTTPAdapter):
        pass

    custom = requests.Session()
    custom.mount("https://", Custom())
    assert isinstance(guard_session(custom).get_adapter("https://x.example"), Custom)
