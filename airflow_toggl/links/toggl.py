"""Extra link from a Toggl task in the Airflow UI to the account's Toggl Track profile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

TOGGL_PROFILE_URL = "https://track.toggl.com/profile"


class TogglProfileLink(BaseOperatorLink):
    """The "Toggl Track profile" button: where the user checks sessions, the API token, the account."""

    name = "Toggl Track profile"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The profile page; the same for every run (it needs no XCom)."""
        return TOGGL_PROFILE_URL
