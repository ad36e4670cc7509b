"""Triggers of the Toggl provider (they run in Airflow's triggerer)."""
