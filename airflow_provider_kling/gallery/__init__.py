"""The Kling gallery: finished generations, read from Airflow's metadata DB, shown in the Airflow UI.

``cards`` turns stored values into what a card shows (plain Python, any Airflow); ``store`` reads them with
Airflow 3's models; ``app`` is the FastAPI app that ``plugins/gallery.py`` mounts in the API server.
"""
