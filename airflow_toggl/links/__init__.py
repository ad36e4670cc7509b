"""Operator extra links of the Toggl provider."""
