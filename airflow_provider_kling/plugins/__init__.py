"""Airflow plugins of the provider, found through the ``airflow.plugins`` entry point."""
