"""OpenLineage datasets of the Kling operators, for ``apache-airflow-providers-openlineage`` when installed
(``pip install airflow-provider-kling[openlineage]``): nothing here is imported unless lineage is collected.

A generation reads its input media (URLs or object-storage paths given as image, video or audio fields) and
writes one dataset per Kling task (namespace ``kling://<host>``, name ``<task_type>/<task_id>``) plus its
result URLs; ``KlingDownloadOperator`` reads those URLs and writes the stored files. So lineage runs from the
inputs through the generation to the stored file and whatever publishes it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_kling.results import is_web_url

#: Request fields (at any depth) that carry media to read, besides the spec's image inputs.
MEDIA_FIELDS = frozenset({"video_url", "audio_url", "image_url", "sound_file", "audio_file"})
_STORAGE_SCHEMES = ("s3", "gs", "gcs", "abfs", "az", "wasb", "file")


def dataset(location: str) -> Any | None:
    """An OpenLineage dataset for a URL or storage path (``None`` for Base64 or anything else)."""
    from openlineage.client.event_v2 import Dataset

    parts = urlsplit(location)
    if is_web_url(location):
        return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path or "/")
    if parts.scheme in _STORAGE_SCHEMES and parts.netloc:
        return Dataset(namespace=f"{parts.scheme}://{parts.netloc}", name=parts.path.lstrip("/"))
    if location.startswith("/") or parts.scheme == "file":
        return Dataset(namespace="file", name=parts.path if parts.scheme else location)
    return None


def media_locations(body: Any, image_fields: frozenset[str]) -> Iterator[str]:
    """Every string under a media or image field of a request body, at any depth."""
    if isinstance(body, dict):
        for name, value in body.items():
            if name in MEDIA_FIELDS or name in image_fields:
                if isinstance(value, str):
                    yield value
                elif isinstance(value, list):
                    yield from (item for item in value if isinstance(item, str))
            yield from media_locations(value, image_fields)
    elif isinstance(body, list):
        for item in body:
            yield from media_locations(item, image_fields)


def _datasets(locations: Iterable[str]) -> list[Any]:
    found = {}
    for location in locations:
        item = dataset(location)
        if item is not None:
            found[(item.namespace, item.name)] = item
    return list(found.values())


def generation(
    base_url: str, task_type: str, body: Any, image_fields: frozenset[str], task: Any, urls: list[str]
) -> Any:
    """The lineage of one generation: its input media in, its Kling task and result URLs out."""
    from airflow.providers.openlineage.extractors import OperatorLineage
    from openlineage.client.event_v2 import Dataset

    outputs = _datasets(urls)
    if isinstance(task, dict) and task.get("task_id"):
        host = urlsplit(base_url).netloc
        outputs.insert(0, Dataset(namespace=f"kling://{host}", name=f"{task_type}/{task['task_id']}"))
    return OperatorLineage(inputs=_datasets(media_locations(body, image_fields)), outputs=outputs)


def download(urls: list[str], paths: list[str]) -> Any:
    """The lineage of a download: the result URLs in, the stored files out."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=_datasets(urls), outputs=_datasets(paths))
