"""The session layer: where a Toggl session lives between tasks, and how it is rotated safely.

:mod:`~airflow_toggl.sessions.store` keeps one connection's session in an Airflow Variable;
:mod:`~airflow_toggl.sessions.rotation` creates, verifies, stores and retires sessions over the hook;
:mod:`~airflow_toggl.sessions.accounts` keeps or deletes the sessions the account flows meet.
"""
