"""``KlingTaskSensor``: wait for a Kling task to finish; deferrable by default."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_kling import options
from airflow_provider_kling.checks import is_templated, validate_task_id
from airflow_provider_kling.exceptions import KlingError
from airflow_provider_kling.protocol import (
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    event_for_task,
)
from airflow_provider_kling.results import AudioFormat
from airflow_provider_kling.spec import TASK_TYPES, get_task_type
from airflow_provider_kling.waiting import KlingWaitMixin

#: Airflow's convention for every deferrable sensor: ``[operators] default_deferrable`` (read at import).
DEFAULT_DEFERRABLE = conf.getboolean("operators", "default_deferrable", fallback=True)

if TYPE_CHECKING:
    pass


class KlingTaskSensor(KlingWaitMixin, BaseSensorOperator):
    """Wait until a Kling task is ``succeed`` (push its result URLs) or ``failed`` (fail with Kling's reason).

    ``return_value`` is the list of result URLs (videos or images, in Kling's order); XCom ``kling_task``
    holds the whole task object. A failed generation raises ``AirflowFailException`` with ``task_status_msg``
    (skipped with ``soft_fail=True``); the deadline (``timeout`` seconds) raises ``AirflowSensorTimeout``.

    :param kling_task_id: the Kling task id (templated; e.g. an upstream operator's ``.output``).
    :param task_type: the Kling task type (required; templated; stored as ``kling_task_type``).
    :param kling_conn_id: the ``kling`` connection.
    :param deferrable: wait in the triggerer instead of holding a worker slot (default: Airflow's
        ``[operators] default_deferrable``).
    :param poke_interval: seconds between polls (default: the task type's, e.g. 14 s for videos).
    :param initial_delay: seconds after the task's creation before the trigger's first poll (default: the
        task type's, e.g. 30 s for videos).
    :param max_consecutive_failures: transient poll failures in a row before the trigger gives up.
    :param audio_format: which audio URL goes into ``return_value``: ``mp3`` (``url_mp3``) or ``wav``.
    :param end_from_trigger: when deferred, a success ends the task in the triggerer (XComs pushed there)
        instead of taking a worker slot again; see the operators' parameter of the same name.
    """

    template_fields: Sequence[str] = ("kling_task_id", "kling_task_type")
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        kling_task_id: Any,
        task_type: str | None = None,
        kling_conn_id: str = "kling_default",
        deferrable: bool = DEFAULT_DEFERRABLE,
        poke_interval: float | None = None,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        initial_delay: float | None = None,
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
        audio_format: AudioFormat = "mp3",
        end_from_trigger: bool = False,
        **kwargs: Any,
    ) -> None:
        if task_type is None:
            raise KlingError(
                "KlingTaskSensor needs task_type=... (the type the task was created as), one of "
                + ", ".join(TASK_TYPES)
            )
        # The base class needs a number now; a templated task type falls back to the generic interval.
        literal_type = not is_templated(task_type)
        default_poke = get_task_type(task_type).poll_interval if literal_type else DEFAULT_POLL_INTERVAL
        poke_interval = options.optional_seconds("poke_interval", poke_interval, minimum=options.MIN_INTERVAL)
        super().__init__(
            poke_interval=default_poke if poke_interval is None else poke_interval,
            timeout=options.seconds("timeout", timeout, above=True),
            **kwargs,
        )
        self.poll_interval = poke_interval
        self.kling_task_id = kling_task_id
        self.kling_task_type = task_type
        self.kling_conn_id = kling_conn_id
        self.deferrable = deferrable
        self.initial_delay = options.optional_seconds("initial_delay", initial_delay)
        self.max_consecutive_failures = options.count("max_consecutive_failures", max_consecutive_failures)
        self.audio_format = options.audio_format(audio_format)
        self.end_from_trigger = options.flag("end_from_trigger", end_from_trigger)

    def waited_task_id(self, context: Any) -> str:
        return str(self.kling_task_id)

    def _check(self) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """One poll through the sync hook: the task, and its terminal event (``None`` while it runs)."""
        get_task_type(self.kling_task_type)
        validate_task_id(str(self.kling_task_id), "kling_task_id")
        task = self.hook.get_task(self.kling_task_type, str(self.kling_task_id))
        return task, event_for_task(self.kling_task_type, task)

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        task, event = self._check()
        if event is not None:
            self.log.info("Kling task %s already finished: %s", self.kling_task_id, event["message"])
            return self.complete(context, event)
        trigger = self.wait_trigger(task, timeout=self.timeout)
        self.defer(trigger=trigger, method_name="execute_complete")

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        """Airflow 3's resume rules on every version, except that ``soft_fail`` keeps ``error`` events.

        On resume Airflow 3 skips on *any* exception under ``soft_fail``, so a refused request (wrong token,
        no access, unknown task) would be skipped in deferrable mode only, while poke and reschedule modes
        (and ``complete_wait``) skip just a failed generation or the deadline. Airflow 2.11 ignores
        ``never_fail`` on resume; here it skips, as it does in the other modes.
        """
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSkipException as skip:
            cause = skip.__cause__
            if isinstance(cause, KlingError) and not self.never_fail:
                raise cause from None
            raise
        except AirflowException as error:
            if self.never_fail:
                raise AirflowSkipException(f"{error} (never_fail is set, so the task is skipped)") from error
            raise

    def poke(self, context: Any) -> bool | PokeReturnValue:
        _, event = self._check()
        if event is None:
            return False
        urls = self.complete(context, event)
        return PokeReturnValue(is_done=True, xcom_value=urls)
