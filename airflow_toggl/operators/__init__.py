"""Operators of the Toggl provider."""
