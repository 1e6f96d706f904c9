"""Apache Airflow provider for Kling AI video and image generation."""

__version__ = "0.3.0"
