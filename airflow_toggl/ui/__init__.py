"""The Toggl sessions page in the Airflow UI: an Airflow plugin shipped with the provider.

:mod:`~airflow_toggl.ui.plugin` is what Airflow loads (the ``airflow.plugins`` entry point); it
imports nothing heavy. The page's FastAPI app (:mod:`~airflow_toggl.ui.app`) is built only when the
API server asks for it. :mod:`~airflow_toggl.ui.overview` decides each row's state from facts that
:mod:`~airflow_toggl.ui.sources` reads from Airflow's own stores.
"""
