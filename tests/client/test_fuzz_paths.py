"""Generic request paths: whatever ``validate_path`` accepts stays on the service's host.

A path is appended to the connection's base URL, which carries its credentials; a path that could
move the request to another scheme, host or port, or out of the URL's path, must be refused.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import requests
from hypothesis import example, given
from hypothesis import strategies as st

from airflow_toggl.client.endpoint import validate_path
from airflow_toggl.exceptions import TogglConfigError
from tests.support.strategies import fuzz

BASE = "https://api.track.toggl.com"
TRICKY = [
    "/",
    "//",
    ".",
    "..",
    "%2e",
    "%2E",
    "%2f",
    "@",
    ":",
    "?",
    "#",
    "\\",
    "\t",
    " ",
    "\r\n",
    "\x00",
    "evil.example",
]

paths = st.one_of(
    st.lists(st.sampled_from(TRICKY) | st.text(max_size=6), max_size=8).map("".join),
    st.text(max_size=40),
)


@fuzz(200)
@given(paths)
@example("//evil.example/x")
@example("/@evil.example")
@example("/%2e%2e/admin")
@example("/api/v9/me?then=https://evil.example")
def test_an_accepted_path_keeps_the_host_and_stays_a_path(path: str) -> None:
    try:
        accepted = validate_path(path)
    except TogglConfigError as error:
        refused_field = error.field
    else:
        refused_field = None
    if refused_field is not None:
        assert refused_field == "path"
        return
    url = requests.Request("GET", BASE + accepted).prepare().url
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("https", "api.track.toggl.com", None)
    assert not parts.query
    assert not parts.fragment
    assert ".." not in unquote(parts.path).split("/")
