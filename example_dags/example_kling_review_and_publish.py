"""Three variants of a prompt, a person picks one in the Airflow UI, and only that one is published.

``generate`` makes one video per look (dynamic task mapping), ``review`` is a human-in-the-loop task: the
UI's *Required actions* shows the three previews and the choices "Variant 1" to "Variant 3" or "Reject all".
The chosen variant is downloaded and published (a manifest next to the file); "Reject all" skips both, so
nothing is published and the run still succeeds. The DAG run's **Kling** tab (the gallery) plays the three
variants side by side while the review waits.

Needs Airflow 3.1+ (the human-in-the-loop operators of apache-airflow-providers-standard).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import (
    DAG,
    AirflowOptionalProviderFeatureException,
    AirflowSkipException,
    conf,
    task,
)

from airflow_provider_kling.operators.download import KlingDownloadOperator
from airflow_provider_kling.operators.kling import KlingTextToVideoOperator

try:
    from airflow.providers.standard.operators.hitl import HITLOperator
except (ImportError, AirflowOptionalProviderFeatureException) as err:
    raise ImportError(
        "example_kling_review_and_publish needs Airflow 3.1+: its review is a human-in-the-loop task "
        "(airflow.providers.standard.operators.hitl)"
    ) from err

MEDIA_DIR = os.environ.get("KLING_MEDIA_DIR", "/tmp/kling-media")
PROMPT = "A paper boat sails across a rain puddle, macro lens, gentle ripples"
LOOKS = (
    "at golden hour, warm backlight",
    "on a grey morning, soft light, light drizzle",
    "at night, neon signs reflected in the water",
)
VARIANTS = [f"Variant {number}" for number in range(1, len(LOOKS) + 1)]
REJECT_ALL = "Reject all"

with DAG(
    dag_id="example_kling_review_and_publish",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["kling", "example", "review"],
) as dag:
    variants = KlingTextToVideoOperator.partial(
        task_id="generate", model_name="kling-v2-6", mode="std", aspect_ratio="16:9", duration=5
    ).expand(prompt=[f"{PROMPT}, {look}" for look in LOOKS])

    @task
    def review_body(url_lists: list[list[str]], **context: Any) -> str:
        """The review's text (Markdown): each variant's look with its video, and the run's gallery tab."""
        run = context["dag_run"]
        ui = conf.get("api", "base_url", fallback="").rstrip("/")
        gallery = f"{ui}/dags/{quote(run.dag_id, safe='')}/runs/{quote(run.run_id, safe='')}/plugin/kling-run"
        lines = [f"Prompt: *{PROMPT}*", ""]
        for name, look, urls in zip(VARIANTS, LOOKS, url_lists, strict=True):
            lines.append(f"- **{name}**, {look}: [watch the video]({urls[0]})")
        lines += ["", f"[Play the three variants side by side]({gallery}) in the run's Kling tab."]
        return "\n".join(lines)

    review = HITLOperator(
        task_id="review",
        subject="Which variant should be published?",
        body=review_body(variants.output),
        options=[*VARIANTS, REJECT_ALL],
        defaults=[REJECT_ALL],  # what happens when nobody answers within response_timeout
        response_timeout=timedelta(days=3),
    )

    @task
    def chosen_urls(answer: dict[str, Any], url_lists: list[list[str]]) -> list[str]:
        """The chosen variant's video; "Reject all" skips the download and the publication."""
        (option,) = answer["chosen_options"]
        if option == REJECT_ALL:
            raise AirflowSkipException("Every variant was rejected: nothing is published")
        return list(url_lists[VARIANTS.index(option)])

    download = KlingDownloadOperator(
        task_id="download",
        urls=chosen_urls(review.output, variants.output),
        destination=MEDIA_DIR + "/{{ dag.dag_id }}/{{ run_id | replace(':', '-') | replace('+', '-') }}",
    )

    @task
    def publish(files: list[dict[str, Any]], answer: dict[str, Any]) -> str:
        """Record what was chosen, by whom, and where it is kept."""
        (option,) = answer["chosen_options"]
        look = LOOKS[VARIANTS.index(option)]
        responded_at = answer.get("responded_at")
        manifest = {
            "variant": option,
            "prompt": f"{PROMPT}, {look}",
            "reviewed_by": (answer.get("responded_by_user") or {}).get("name"),
            "reviewed_at": responded_at.isoformat() if isinstance(responded_at, datetime) else responded_at,
            "files": files,
        }
        path = Path(files[0]["path"]).parent / "manifest.json"
        path.write_text(json.dumps(manifest, indent=2))
        print(f"Published {option} ({look}): {files[0]['path']}")
        return str(path)

    publish(download.output, review.output)
