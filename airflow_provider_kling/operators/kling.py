"""Operators that create Kling tasks, safely: validated input, idempotent submission, queueing on 1303.

``KlingCreateTaskOperator`` does the work for any task type; the typed operators below only spell out each
task type's fields as keyword arguments, as ``spec.py`` lists them (a test keeps the two equal). Heavy modules
(the hook: requests, aiohttp, PyJWT) are imported when a task runs, never when a DAG file is parsed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator, conf

from airflow_provider_kling import options
from airflow_provider_kling.checks import fail, is_templated, is_unset, validate_task_id
from airflow_provider_kling.exceptions import KlingError, KlingRateLimitError, KlingValidationError
from airflow_provider_kling.links import KlingResultLink
from airflow_provider_kling.payloads import (
    check_extra_fields,
    declared_names,
    merge_extra_fields,
    validate_payload,
)
from airflow_provider_kling.protocol import (
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
    DEFAULT_WAIT_TIMEOUT,
    KLING_TASK_ID_XCOM_KEY,
    event_for_task,
    make_event,
)
from airflow_provider_kling.results import AudioFormat
from airflow_provider_kling.retry import RetryPolicy
from airflow_provider_kling.spec import get_task_type
from airflow_provider_kling.waiting import KlingWaitMixin

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Asset

    from airflow_provider_kling.callbacks import CallbackTarget

DEFAULT_SUBMIT_TIMEOUT = 60 * 60
#: Airflow's convention for every deferrable operator: ``[operators] default_deferrable`` (read at import).
DEFAULT_DEFERRABLE = conf.getboolean("operators", "default_deferrable", fallback=True)


class _Later:
    """Stands for a request field the operator fills in at run time (see ``filled_at_run_time``)."""

    def __repr__(self) -> str:
        return "<filled in at run time>"


LATER = _Later()


def _is_deferred_value(value: Any) -> bool:
    """A whole argument that is a template or an XComArg (not a literal with templates inside)."""
    return not isinstance(value, Mapping | list | tuple) and is_templated(value)


def _as_mapping(name: str, value: Any) -> dict[str, Any]:
    """A rendered mapping argument; a JSON object string (``{{ ... | tojson }}``) is accepted too."""
    if is_unset(value):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise fail(name, value, "a mapping of Kling request fields (or a JSON object)") from None
    if not isinstance(value, Mapping):
        raise fail(name, value, "a mapping of Kling request fields")
    return dict(value)


class KlingCreateTaskOperator(KlingWaitMixin, BaseOperator):
    """Create a Kling task of any type and (by default) wait for it without holding a worker slot.

    XCom: ``kling_task_id`` right after submission; then ``return_value`` = the result URLs (videos, images,
    audio in that order) and ``kling_task`` = the whole task object (or, with ``wait_for_completion=False``,
    ``return_value`` = the task id, ready for ``KlingTaskSensor(kling_task_id=op.output)``).

    Never pays twice: each attempt creates with an ``external_task_id`` derived from (dag_id, task_id,
    run_id, map_index, try), and a retry first looks up the earlier attempts' ids, re-attaching to a task that
    is still running or succeeded. Kling's concurrency limit (1303) or rate limit (1302) does not fail the
    task: it resubmits with exponential backoff (deferred, when ``deferrable``) until ``submit_timeout``.

    :param task_type: Kling task type (stored as ``kling_task_type``; templated), e.g. ``text2video``.
    :param payload: the create request's fields as Kling spells them (templated; a mapping, an XComArg or a
        template rendering to a JSON object); validated before anything is sent (docs/kling-api.md).
    :param extra_fields: fields Kling added after this release (templated): merged into the body, only
        type-checked; setting a field both here and in ``payload`` (or a keyword argument) is an error.
    :param kling_conn_id: the ``kling`` connection.
    :param wait_for_completion: wait for the generation and push its URLs (default), or return the task id
        (the default with ``completion_asset``).
    :param deferrable: wait and queue in the triggerer instead of on a worker (default: Airflow's
        ``[operators] default_deferrable``).
    :param poll_interval: seconds between status polls (default: the task type's, e.g. 14 s for videos).
    :param timeout: seconds to wait for the generation before failing with a timeout.
    :param initial_delay: seconds before the first poll (default: the task type's, e.g. 30 s for videos).
    :param external_task_id: a fixed external id of your own; a task with this id is re-attached if it exists.
    :param submit_timeout: how long to keep resubmitting while the account's concurrency is full.
    :param submit_retry_delay: first wait before resubmitting after 1302/1303 (doubles, jittered, ≤ 2 min).
    :param max_consecutive_failures: transient poll failures in a row before the wait gives up.
    :param audio_format: which audio URL goes into ``return_value``: ``mp3`` (``url_mp3``) or ``wav``.
    :param end_from_trigger: when deferred, a successful generation ends the task in the triggerer, which
        pushes ``return_value``, ``kling_task`` and ``kling_units``: one worker run per generation instead of
        two (docs/production.md). A failure, timeout or error still resumes on a worker to fail or retry
        there. Not with ``outlets`` (their asset events are emitted by the worker) and no OpenLineage
        completion facets.
    :param completion_asset: event-driven completion (Airflow >= 3.1, README "Event-driven pipelines"): an
        ``Asset`` (or its name) on which the Kling callback plugin records one event when the task ends, for
        a DAG scheduled on it. The operator sets ``callback_url`` itself (from the connection's
        ``callback_base_url`` and ``callback_secret``), pushes XCom ``kling_completion`` for the sweep, and
        ends once the task is submitted.
    """

    template_fields: Sequence[str] = ("kling_task_type", "payload", "extra_fields", "external_task_id")
    #: The Kling task as created (or re-attached), for lineage when the wait is not in this process.
    submitted_task: dict[str, Any] | None = None
    #: Request fields the operator fills in itself at run time (the session operators' ``session_id``):
    #: counted as present, and checked once filled in.
    filled_at_run_time: ClassVar[tuple[str, ...]] = ()
    template_fields_renderers: ClassVar[dict[str, str]] = {"payload": "json", "extra_fields": "json"}
    operator_extra_links = (KlingResultLink(),)
    ui_color = "#d2e3fc"

    def __init__(
        self,
        *,
        task_type: str,
        payload: Any = None,
        extra_fields: Any = None,
        kling_conn_id: str = "kling_default",
        wait_for_completion: bool | None = None,
        deferrable: bool = DEFAULT_DEFERRABLE,
        poll_interval: float | None = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        initial_delay: float | None = None,
        external_task_id: str | None = None,
        submit_timeout: float = DEFAULT_SUBMIT_TIMEOUT,
        submit_retry_delay: float = 5.0,
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
        audio_format: AudioFormat = "mp3",
        end_from_trigger: bool = False,
        completion_asset: Asset | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kling_task_type = task_type
        self.payload = {} if payload is None else payload
        self.extra_fields = extra_fields
        self.kling_conn_id = kling_conn_id
        self.completion_asset: Asset | None = None
        if completion_asset is not None:
            from airflow_provider_kling.events import completion_asset as checked_asset

            self.completion_asset = checked_asset(completion_asset, self.payload)
            # An inlet makes the DAG declare the asset, so it exists when the plugin records on it.
            if self.completion_asset not in self.inlets:
                self.inlets = [*self.inlets, self.completion_asset]
        if wait_for_completion is None:
            wait_for_completion = self.completion_asset is None
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = options.optional_seconds(
            "poll_interval", poll_interval, minimum=options.MIN_INTERVAL
        )
        self.timeout = options.seconds("timeout", timeout, above=True)
        self.initial_delay = options.optional_seconds("initial_delay", initial_delay)
        self.external_task_id = external_task_id
        self.submit_timeout = options.seconds("submit_timeout", submit_timeout)
        self.submit_retry_delay = options.seconds(
            "submit_retry_delay", submit_retry_delay, minimum=options.MIN_INTERVAL
        )
        self.max_consecutive_failures = options.count("max_consecutive_failures", max_consecutive_failures)
        self.audio_format = options.audio_format(audio_format)
        self.end_from_trigger = options.flag("end_from_trigger", end_from_trigger)
        if self.end_from_trigger and self.outlets:
            raise fail(
                "end_from_trigger",
                end_from_trigger,
                "False when the task has outlets: a task that ends in the triggerer emits no asset events",
            )
        self._check_literals()

    def _check_literals(self) -> None:
        """Validate what is known while the DAG file is parsed; templates and XComArgs wait for rendering."""
        if not is_templated(self.kling_task_type):
            get_task_type(self.kling_task_type)
        if not is_unset(self.external_task_id) and not is_templated(self.external_task_id):
            validate_task_id(self.external_task_id, "external_task_id")
        payload_known = isinstance(self.payload, Mapping)
        if not payload_known and not _is_deferred_value(self.payload):
            raise fail("payload", self.payload, "a mapping of Kling request fields, an XComArg or a template")
        extra_known = self.extra_fields is None or isinstance(self.extra_fields, Mapping)
        if not extra_known and not _is_deferred_value(self.extra_fields):
            raise fail("extra_fields", self.extra_fields, "a mapping of field names to JSON values")
        extra = {} if self.extra_fields is None else self.extra_fields
        if isinstance(extra, Mapping) and not is_templated(extra):
            check_extra_fields(extra)
        if payload_known and extra_known and not is_templated(self.kling_task_type):
            fields = (
                merge_extra_fields(self.payload, extra) if not is_templated(extra) else dict(self.payload)
            )
            validate_payload(
                self.kling_task_type,
                self._with_placeholders(fields),
                skip=lambda v: v is LATER or is_templated(v),
                declared=declared_names(extra),
            )

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """As ``BaseOperator.partial``; ``completion_asset`` is checked and declared as an inlet while the DAG
        file is parsed, as for an unmapped task (``__init__`` runs only when a mapped task does)."""
        if kwargs.get("completion_asset") is not None:
            from airflow_provider_kling.events import completion_asset

            asset = completion_asset(kwargs["completion_asset"], kwargs.get("payload"))
            kwargs["completion_asset"] = asset
            kwargs["inlets"] = [*(kwargs.get("inlets") or []), asset]
        return super().partial(**kwargs)

    def _with_placeholders(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The fields with ``LATER`` standing in for those this operator fills in at run time."""
        return {**dict.fromkeys(self.filled_at_run_time, LATER), **fields}

    # -- submission ---------------------------------------------------------------------------------------

    def _user_external_id(self) -> str | None:
        """The user's own idempotency key (argument, else the payload's), once rendered; ``""`` is unset."""
        if not is_unset(self.external_task_id):
            return str(self.external_task_id)
        payload = self.payload if isinstance(self.payload, Mapping) else {}
        value = payload.get("external_task_id")
        return None if is_unset(value) else str(value)

    def _external_ids(self, context: Any) -> list[str]:
        """This attempt's external id first, then the earlier attempts' (newest first) to look up."""
        user_id = self._user_external_id()
        if user_id:
            return [user_id]
        digest = self.attempt_key(context)
        tries = max(1, int(context["ti"].try_number))
        return [f"airflow-{digest}-{attempt}" for attempt in range(tries, 0, -1)]

    def _request_body(self, context: Any, external_task_id: str) -> dict[str, Any]:
        """The rendered, validated body with image files read in; a bad value fails without a retry."""
        from airflow_provider_kling.images import resolve_images

        try:
            extra = check_extra_fields(_as_mapping("extra_fields", self.extra_fields))
            callback = self._callback_fields(context, external_task_id)
            fields = merge_extra_fields(
                self._with_placeholders({**self.payload, **callback, "external_task_id": external_task_id}),
                extra,
            )
            body, warnings = validate_payload(
                self.kling_task_type, fields, skip=lambda v: v is LATER, declared=declared_names(extra)
            )
            for warning in warnings:
                self.log.warning("Kling %s request: %s", self.kling_task_type, warning)
            return resolve_images(self.kling_task_type, body, self.log.warning)
        except (KlingValidationError, ValueError) as err:
            raise AirflowFailException(f"Invalid Kling {self.kling_task_type} request: {err}") from err

    # -- event-driven completion (completion_asset; plugins/callbacks.py records the event) ---------------

    def _completion_target(self, context: Any, external_task_id: str) -> CallbackTarget:
        from airflow_provider_kling.events import completion_target

        return completion_target(
            self.kling_conn_id, self.completion_asset, self.kling_task_type, external_task_id, context["ti"]
        )

    def _callback_fields(self, context: Any, external_task_id: str) -> dict[str, Any]:
        """``callback_url`` pointing at the plugin, with ``completion_asset``; read before any request, so a
        connection without the callback extras fails the task at once."""
        if self.completion_asset is None:
            return {}
        from airflow_provider_kling.callbacks import callback_url

        if not is_unset(self.payload.get("callback_url")):
            raise AirflowFailException(
                "callback_url cannot be set together with completion_asset: the operator points Kling's "
                "callbacks at the Airflow API server itself"
            )
        settings = self.hook.get_settings()
        base_url, secret = settings.callback_base_url, settings.callback_secret
        if base_url is None or secret is None:
            extras = (("callback_base_url", base_url), ("callback_secret", secret))
            missing = " and ".join(name for name, value in extras if value is None)
            raise AirflowFailException(
                f"completion_asset needs the extra {missing} on connection "
                f"{self.kling_conn_id!r}: callback_base_url is the public URL at which Kling reaches the "
                "Airflow API server, callback_secret a random key of at least 16 characters (README: "
                "Event-driven pipelines)"
            )
        target = self._completion_target(context, external_task_id)
        return {"callback_url": callback_url(base_url, secret, target)}

    def _push_completion(self, context: Any, task: dict[str, Any]) -> None:
        """XCom ``kling_completion``: the task and the target its callback URL names, for the sweep that
        records the events of callbacks that never came."""
        from airflow_provider_kling.callbacks import KLING_COMPLETION_XCOM_KEY
        from airflow_provider_kling.events import task_external_id

        # The callback URL was built with the external id the task was created with (an earlier try's, when
        # re-attached); Kling's answer names it, else it is this try's.
        external_id = task_external_id(task) or self._external_ids(context)[0]
        record = {**self._completion_target(context, external_id).to_dict(), "kling_task_id": task["task_id"]}
        context["ti"].xcom_push(key=KLING_COMPLETION_XCOM_KEY, value=record)

    def _reattach(self, external_ids: list[str]) -> dict[str, Any] | None:
        """A task of an earlier attempt (or with the user's id) that is running or succeeded, if any."""
        for external_id in external_ids:
            task = self.hook.find_task(self.kling_task_type, external_id)
            if task is not None and task.get("task_status") != "failed":
                self.log.info(
                    "Re-attaching to Kling task %s (external_task_id=%s, %s) instead of creating another",
                    task["task_id"],
                    external_id,
                    task.get("task_status"),
                )
                return task
        return None

    def _render_payload(self) -> None:
        """A payload rendered from a template (a JSON object string) becomes the mapping it stands for."""
        try:
            get_task_type(self.kling_task_type)
            self.payload = _as_mapping("payload", self.payload)
        except KlingValidationError as err:
            raise AirflowFailException(f"Invalid Kling {self.kling_task_type} request: {err}") from err

    def execute(self, context: Any) -> Any:
        self._render_payload()
        external_ids = self._external_ids(context)
        body = self._request_body(context, external_ids[0])
        earlier = external_ids if self._user_external_id() else external_ids[1:]
        task = self._reattach(earlier)
        if task is None:
            body = self._complete_request(context, body)
            return self._submit(context, body, time.time() + self.submit_timeout, attempt=0)
        return self._submitted(context, task)

    def _complete_request(self, context: Any, body: dict[str, Any]) -> dict[str, Any]:
        """Fill in the fields of ``filled_at_run_time`` (the session operators open their session here, once
        no earlier task was found to re-attach to); the other operators send the body as it is."""
        return body

    def attempt_key(self, context: Any) -> str:
        """A digest of (DAG, task, run, map index): the same for every try of this task instance."""
        ti = context["ti"]
        key = f"{ti.dag_id}|{ti.task_id}|{ti.run_id}|{getattr(ti, 'map_index', -1)}"
        return hashlib.sha256(key.encode()).hexdigest()[:24]

    def resume_submit(self, context: Any, event: Any = None) -> Any:
        """Resubmit after a deferred wait for free concurrency; the state comes back in the event.

        The submission keeps the external id it started with, and a task another try created meanwhile
        (Airflow can resume a deferred task under a newer try number) is re-attached, not paid for again.
        """
        if not isinstance(event, dict) or event.get("status") != "resubmit":
            raise KlingError(f"Unexpected event while waiting to resubmit to Kling: {event!r}")
        self._render_payload()
        external_ids = self._external_ids(context)
        external_task_id = str(event.get("external_task_id") or external_ids[0])
        task = self._reattach([other for other in external_ids if other != external_task_id])
        if task is not None:
            return self._submitted(context, task)
        body = self._complete_request(context, self._request_body(context, external_task_id))
        return self._submit(context, body, float(event["submit_deadline"]), int(event["attempt"]))

    def _submit(self, context: Any, body: dict[str, Any], submit_deadline: float, attempt: int) -> Any:
        backoff = RetryPolicy(base_delay=self.submit_retry_delay, max_delay=120.0)
        while True:
            try:
                # 1302/1303 come straight back here, to be waited out deferred rather than on this worker.
                task = self.hook.create_task(
                    self.kling_task_type, body, retry_rate_limits=False, validate=False
                )
            except KlingRateLimitError as err:
                wait = max(self.submit_retry_delay, backoff.delay(attempt, err))
                attempt += 1
                if time.time() + wait > submit_deadline:
                    raise KlingError(
                        f"Kling kept refusing new {self.kling_task_type} tasks for {self.submit_timeout:g}s: "
                        f"the account's concurrency (or rate) limit stayed full. Last answer: {err}"
                    ) from err
                self.log.info(
                    "Kling is at its limit (%s); resubmitting in %.1fs (attempt %d)", err, wait, attempt
                )
                if self.deferrable:
                    from airflow_provider_kling.triggers.resubmit import KlingResubmitTrigger

                    state = {
                        "submit_deadline": submit_deadline,
                        "attempt": attempt,
                        "external_task_id": body["external_task_id"],
                    }
                    self.defer(
                        trigger=KlingResubmitTrigger(time.time() + wait, state), method_name="resume_submit"
                    )
                time.sleep(wait)
            else:
                return self._submitted(context, task)

    # -- waiting ------------------------------------------------------------------------------------------

    def _submitted(self, context: Any, task: dict[str, Any]) -> Any:
        self.submitted_task = task
        kling_task_id = str(task["task_id"])
        context["ti"].xcom_push(key=KLING_TASK_ID_XCOM_KEY, value=kling_task_id)
        if self.completion_asset is not None:
            self._push_completion(context, task)
        if not self.wait_for_completion:
            return kling_task_id
        event = event_for_task(self.kling_task_type, task)
        if event is None and self.deferrable:
            trigger = self.wait_trigger(task, timeout=self.timeout)
            self.defer(trigger=trigger, method_name="execute_complete")
        if event is None:
            event = self._poll(task)
        return self.complete(context, event)

    def waited_task_id(self, context: Any) -> str:
        ti = context["ti"]
        task_id = ti.xcom_pull(
            task_ids=ti.task_id, key=KLING_TASK_ID_XCOM_KEY, map_indexes=getattr(ti, "map_index", -1)
        )
        if not task_id:
            raise KlingError("The Kling task id this task created is not in its XCom (kling_task_id)")
        return str(task_id)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage (``apache-airflow-providers-openlineage``, when installed): the input media read, the
        Kling task and its result URLs written (``lineage.py``)."""
        from airflow_provider_kling import lineage
        from airflow_provider_kling.results import result_urls

        task = self.finished_task or self.submitted_task
        urls = result_urls(self.finished_task, self.audio_format) if self.finished_task else []
        base_url = self.hook.get_settings().base_url
        spec = get_task_type(self.kling_task_type)
        return lineage.generation(base_url, spec.name, self.payload, spec.image_fields, task, urls)

    def _poll(self, task: dict[str, Any]) -> dict[str, Any]:
        """Wait on the worker (``deferrable=False``) until the task ends or the timeout passes."""
        kling_task_id = str(task["task_id"])
        deadline = time.time() + self.timeout
        poll, first_wait = self.wait_timing(task)
        time.sleep(min(first_wait, self.timeout))
        while True:
            event = event_for_task(
                self.kling_task_type, self.hook.get_task(self.kling_task_type, kling_task_id)
            )
            if event is not None:
                return event
            left = deadline - time.time()
            if left <= 0:
                return make_event(
                    "timeout",
                    self.kling_task_type,
                    kling_task_id,
                    f"Kling task {kling_task_id} did not finish within {self.timeout:g}s",
                )
            time.sleep(min(poll, left))


def request_fields(task_type: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A typed operator's request body from its keyword arguments (``locals()``): the spec's fields that are
    set, with Kling's ``input`` object filled in where the type has one."""
    spec = get_task_type(task_type)
    return spec.nest(
        {name: arguments[name] for name in spec.kwarg_names if not is_unset(arguments.get(name))}
    )


class KlingTextToVideoOperator(KlingCreateTaskOperator):
    """Generate a video from a prompt (``text2video``), single-shot or multi-shot (``multi_prompt``)."""

    def __init__(
        self,
        *,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        model_name: str | None = None,
        cfg_scale: float | None = None,
        mode: str | None = None,
        aspect_ratio: str | None = None,
        duration: int | str | None = None,
        camera_control: dict[str, Any] | None = None,
        sound: str | None = None,
        multi_shot: bool | None = None,
        shot_type: str | None = None,
        multi_prompt: list[dict[str, Any]] | None = None,
        element_list: list[dict[str, Any]] | None = None,
        voice_list: list[dict[str, Any]] | None = None,
        watermark_info: dict[str, Any] | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="text2video", payload=request_fields("text2video", locals()), **kwargs)


class KlingImageToVideoOperator(KlingCreateTaskOperator):
    """Animate an image (``image2video``): ``image`` and/or ``image_tail`` as URL, Base64 or file path."""

    def __init__(
        self,
        *,
        image: str | None = None,
        image_tail: str | None = None,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        model_name: str | None = None,
        cfg_scale: float | None = None,
        mode: str | None = None,
        duration: int | str | None = None,
        sound: str | None = None,
        static_mask: str | None = None,
        dynamic_masks: list[dict[str, Any]] | None = None,
        camera_control: dict[str, Any] | None = None,
        multi_shot: bool | None = None,
        shot_type: str | None = None,
        multi_prompt: list[dict[str, Any]] | None = None,
        element_list: list[dict[str, Any]] | None = None,
        voice_list: list[dict[str, Any]] | None = None,
        watermark_info: dict[str, Any] | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="image2video", payload=request_fields("image2video", locals()), **kwargs)


class KlingMultiImageToVideoOperator(KlingCreateTaskOperator):
    """A video from 1-4 reference images (``multi-image2video``); list items may be plain image strings."""

    def __init__(
        self,
        *,
        image_list: list[Any] | None = None,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        model_name: str | None = None,
        mode: str | None = None,
        duration: int | str | None = None,
        aspect_ratio: str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_type="multi-image2video", payload=request_fields("multi-image2video", locals()), **kwargs
        )


class KlingExtendVideoOperator(KlingCreateTaskOperator):
    """Extend a generated video by 4-5 s (``video-extend``), given a ``video_id`` from an earlier result."""

    def __init__(
        self,
        *,
        video_id: str | None = None,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        cfg_scale: float | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="video-extend", payload=request_fields("video-extend", locals()), **kwargs)


class KlingImageGenerationOperator(KlingCreateTaskOperator):
    """Generate 1-9 images from a prompt (``generations``), optionally guided by a reference image."""

    def __init__(
        self,
        *,
        prompt: str | None = None,
        negative_prompt: str | None = None,
        model_name: str | None = None,
        image: str | None = None,
        image_reference: str | None = None,
        image_fidelity: float | None = None,
        human_fidelity: float | None = None,
        resolution: str | None = None,
        n: int | None = None,
        aspect_ratio: str | None = None,
        watermark_info: dict[str, Any] | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="generations", payload=request_fields("generations", locals()), **kwargs)


class KlingVirtualTryOnOperator(KlingCreateTaskOperator):
    """Dress a person in a garment (``kolors-virtual-try-on``)."""

    def __init__(
        self,
        *,
        human_image: str | None = None,
        cloth_image: str | None = None,
        model_name: str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_type="kolors-virtual-try-on",
            payload=request_fields("kolors-virtual-try-on", locals()),
            **kwargs,
        )


class KlingLipSyncOperator(KlingCreateTaskOperator):
    """Make a video's face speak (``lip-sync``): text with a voice (``mode="text2video"``) or an audio track
    (``mode="audio2video"``); the arguments go into Kling's ``input`` object."""

    def __init__(
        self,
        *,
        video_id: str | None = None,
        video_url: str | None = None,
        mode: str | None = None,
        text: str | None = None,
        voice_id: str | None = None,
        voice_language: str | None = None,
        voice_speed: float | None = None,
        audio_type: str | None = None,
        audio_file: str | None = None,
        audio_url: str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="lip-sync", payload=request_fields("lip-sync", locals()), **kwargs)


class KlingVideoEffectsOperator(KlingCreateTaskOperator):
    """Apply a preset effect scene to one image, or two for the two-person scenes (``effects``)."""

    def __init__(
        self,
        *,
        effect_scene: str | None = None,
        model_name: str | None = None,
        mode: str | None = None,
        image: str | None = None,
        images: list[str] | None = None,
        duration: int | str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="effects", payload=request_fields("effects", locals()), **kwargs)


class KlingOmniVideoOperator(KlingCreateTaskOperator):
    """One prompt referencing images, elements and videos (``<<<image_1>>>``) → a video (``omni-video``)."""

    def __init__(
        self,
        *,
        model_name: str | None = None,
        prompt: str | None = None,
        image_list: list[Any] | None = None,
        element_list: list[dict[str, Any]] | None = None,
        video_list: list[Any] | None = None,
        mode: str | None = None,
        aspect_ratio: str | None = None,
        duration: int | str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="omni-video", payload=request_fields("omni-video", locals()), **kwargs)


class KlingMotionControlOperator(KlingCreateTaskOperator):
    """A character image follows the motion of a reference video (``motion-control``)."""

    def __init__(
        self,
        *,
        model_name: str | None = None,
        image_url: str | None = None,
        video_url: str | None = None,
        character_orientation: str | None = None,
        mode: str | None = None,
        keep_original_sound: str | None = None,
        prompt: str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_type="motion-control", payload=request_fields("motion-control", locals()), **kwargs
        )


class KlingAvatarOperator(KlingCreateTaskOperator):
    """A portrait speaks an audio track, given as ``audio_id`` (from TTS) or ``sound_file``
    (``avatar/image2video``)."""

    def __init__(
        self,
        *,
        image: str | None = None,
        audio_id: str | None = None,
        sound_file: str | None = None,
        prompt: str | None = None,
        mode: str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_type="avatar/image2video", payload=request_fields("avatar/image2video", locals()), **kwargs
        )


class KlingMultiImageToImageOperator(KlingCreateTaskOperator):
    """Images from 1-4 subject images plus optional scene and style images (``multi-image2image``)."""

    def __init__(
        self,
        *,
        model_name: str | None = None,
        prompt: str | None = None,
        subject_image_list: list[Any] | None = None,
        scene_image: str | None = None,
        style_image: str | None = None,
        n: int | None = None,
        aspect_ratio: str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_type="multi-image2image", payload=request_fields("multi-image2image", locals()), **kwargs
        )


class KlingImageExpandOperator(KlingCreateTaskOperator):
    """Outpaint an image by ratios of its size on each side (``editing/expand``)."""

    def __init__(
        self,
        *,
        image: str | None = None,
        up_expansion_ratio: float | None = None,
        down_expansion_ratio: float | None = None,
        left_expansion_ratio: float | None = None,
        right_expansion_ratio: float | None = None,
        prompt: str | None = None,
        n: int | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_type="editing/expand", payload=request_fields("editing/expand", locals()), **kwargs
        )


class KlingOmniImageOperator(KlingCreateTaskOperator):
    """A prompt referencing images and elements → images (``omni-image``)."""

    def __init__(
        self,
        *,
        model_name: str | None = None,
        prompt: str | None = None,
        image_list: list[Any] | None = None,
        element_list: list[dict[str, Any]] | None = None,
        n: int | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="omni-image", payload=request_fields("omni-image", locals()), **kwargs)


class KlingTextToAudioOperator(KlingCreateTaskOperator):
    """A sound effect from a prompt (``text-to-audio``); ``return_value`` holds its MP3 (or WAV) URL."""

    def __init__(
        self,
        *,
        prompt: str | None = None,
        duration: float | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_type="text-to-audio", payload=request_fields("text-to-audio", locals()), **kwargs
        )


class KlingVideoToAudioOperator(KlingCreateTaskOperator):
    """Sound effects and music for a 3-20 s video (``video-to-audio``); ``return_value`` holds the video with
    sound, then the audio track."""

    def __init__(
        self,
        *,
        video_id: str | None = None,
        video_url: str | None = None,
        sound_effect_prompt: str | None = None,
        bgm_prompt: str | None = None,
        asmr_mode: bool | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            task_type="video-to-audio", payload=request_fields("video-to-audio", locals()), **kwargs
        )


class KlingTextToSpeechOperator(KlingCreateTaskOperator):
    """Speech from text (``tts``); ``return_value`` holds its MP3 (or WAV) URL, ``kling_task`` the audio id
    that lip-sync and avatar tasks take."""

    def __init__(
        self,
        *,
        text: str | None = None,
        voice_id: str | None = None,
        voice_language: str | None = None,
        voice_speed: float | None = None,
        callback_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="tts", payload=request_fields("tts", locals()), **kwargs)
