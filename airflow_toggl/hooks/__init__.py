"""Airflow hooks for Toggl Track."""
