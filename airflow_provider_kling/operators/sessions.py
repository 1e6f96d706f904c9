"""Kling's two-step flows as one Airflow task each: a session Kling answers at once, then the task naming it.

- ``KlingAdvancedLipSyncOperator``: ``identify-face`` on a video, then ``advanced-lip-sync`` with the faces
the
  user chose (by default every face found), each given the user's audio.
- ``KlingMultiElementsOperator``: ``init-selection`` on a video, ``add-selection`` for each marked frame, then
  ``multi-elements`` (add, swap or remove an element).

Both are idempotent under Airflow retries: the task is re-attached by its external id like every Kling task,
and the session (with how far the selections got) is remembered per task instance, in Airflow 3.3's task state
store or, on older cores, an Airflow Variable, so a retry reuses a live session rather than opening another.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_kling.checks import (
    Findings,
    Ident,
    ListOf,
    fail,
    is_templated,
    is_unset,
    validate_fields,
)
from airflow_provider_kling.exceptions import KlingResponseError, KlingValidationError
from airflow_provider_kling.operators.kling import KlingCreateTaskOperator, request_fields
from airflow_provider_kling.payloads import validate_payload, validate_step
from airflow_provider_kling.spec import FACE_CHOICE, SESSION_SECONDS, SESSION_STEPS

#: A remembered session is reused only while it has this much of its 24 hours left.
SESSION_MARGIN = 15 * 60


class SessionMemory:
    """What a task instance remembers across its tries: the session it opened and how far it got.

    Airflow 3.3 keeps it in the task state store (``context["task_state_store"]``); older cores have no such
    store, so it goes into an Airflow Variable named after the task instance, deleted once the task is
    created."""

    def __init__(self, context: Any, key: str) -> None:
        self.store = context.get("task_state_store")
        self.key = f"kling_session_{key}"

    def recall(self) -> dict[str, Any] | None:
        """The remembered session, if it is still usable."""
        if self.store is not None:
            value = self.store.get(self.key)
        else:
            from airflow.providers.common.compat.sdk import Variable

            value = Variable.get(self.key, None, deserialize_json=True)
        if not isinstance(value, dict) or not isinstance(value.get("session_id"), str):
            return None
        if float(value.get("expires", 0)) - SESSION_MARGIN <= time.time():
            return None
        return value

    def remember(self, value: dict[str, Any]) -> None:
        if self.store is not None:
            self.store.set(self.key, value)
        else:
            from airflow.providers.common.compat.sdk import Variable

            Variable.set(self.key, value, serialize_json=True)

    def forget(self) -> None:
        if self.store is not None:
            self.store.delete(self.key)
        else:
            from airflow.providers.common.compat.sdk import Variable

            Variable.delete(self.key)


class _SessionOperator(KlingCreateTaskOperator):
    """What both session operators share: their own arguments (templated), checked like request fields, and
    the remembered session."""

    template_fields: Sequence[str] = (*KlingCreateTaskOperator.template_fields, "session_arguments")
    template_fields_renderers: ClassVar[dict[str, str]] = {
        **KlingCreateTaskOperator.template_fields_renderers,
        "session_arguments": "json",
    }
    #: The keyword arguments that drive the session steps rather than the task's request body.
    session_keywords: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, task_type: str, arguments: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(task_type=task_type, payload=request_fields(task_type, arguments), **kwargs)
        self.session_arguments = {
            name: arguments[name] for name in self.session_keywords if not is_unset(arguments.get(name))
        }
        if not is_templated(self.session_arguments) and not is_templated(self.payload):
            self.check_session_arguments(self.session_arguments, self.payload)

    def check_session_arguments(self, arguments: dict[str, Any], payload: Mapping[str, Any]) -> None:
        """Refuse session arguments that could never work, before any request."""
        raise NotImplementedError

    def _complete_request(self, context: Any, body: dict[str, Any]) -> dict[str, Any]:
        missing = [name for name in self.filled_at_run_time if name not in self.payload]
        if not missing:
            return body
        try:
            self.check_session_arguments(self.session_arguments, self.payload)
            memory = SessionMemory(context, self.attempt_key(context))
            filled = {**body, **self.open_session(memory)}
            validate_payload(self.kling_task_type, filled)
        except KlingValidationError as err:
            raise AirflowFailException(f"Invalid Kling {self.kling_task_type} request: {err}") from err
        return filled

    def _submitted(self, context: Any, task: dict[str, Any]) -> Any:
        if any(name not in self.payload for name in self.filled_at_run_time):
            SessionMemory(context, self.attempt_key(context)).forget()
        return super()._submitted(context, task)

    def open_session(self, memory: SessionMemory) -> dict[str, Any]:
        """The request fields the session provides (``session_id``, ...), reusing a remembered session."""
        raise NotImplementedError

    def _video_source(self) -> dict[str, Any]:
        return {
            k: self.session_arguments[k] for k in ("video_id", "video_url") if k in self.session_arguments
        }


class KlingAdvancedLipSyncOperator(_SessionOperator):
    """Chosen faces of a video speak given audio: ``identify-face`` on ``video_id``/``video_url``, then
    ``advanced-lip-sync`` (``advanced-lip-sync``), in one Airflow task.

    Give ``face_choose`` to choose faces and audio yourself; otherwise every face found (or those in
    ``face_ids``) gets ``audio_id`` (e.g. a TTS task's audio id) or ``sound_file``, with the optional
    ``sound_*`` timings (ms) and volumes. With ``session_id`` an identify-face session of your own is used.
    """

    filled_at_run_time = ("session_id", "face_choose")
    session_keywords = (
        "video_id",
        "video_url",
        "face_ids",
        "audio_id",
        "sound_file",
        "sound_start_time",
        "sound_end_time",
        "sound_insert_time",
        "sound_volume",
        "original_audio_volume",
    )

    def __init__(
        self,
        *,
        session_id: str | None = None,
        face_choose: list[dict[str, Any]] | None = None,
        callback_url: str | None = None,
        video_id: str | None = None,
        video_url: str | None = None,
        face_ids: list[str] | None = None,
        audio_id: str | None = None,
        sound_file: str | None = None,
        sound_start_time: int | None = None,
        sound_end_time: int | None = None,
        sound_insert_time: int | None = None,
        sound_volume: float | None = None,
        original_audio_volume: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="advanced-lip-sync", arguments=locals(), **kwargs)

    def _face(self, face_id: Any, arguments: Mapping[str, Any]) -> dict[str, Any]:
        keys = [k for k in self.session_keywords if k.startswith(("audio_id", "sound_", "original_"))]
        return {"face_id": face_id, **{k: arguments[k] for k in keys if k in arguments}}

    def check_session_arguments(self, arguments: dict[str, Any], payload: Mapping[str, Any]) -> None:
        if "session_id" not in payload:
            validate_step("identify-face", {k: arguments.get(k) for k in ("video_id", "video_url")})
        elif {"video_id", "video_url"} & set(arguments):
            raise KlingValidationError(
                "video_id/video_url open a session: leave them out when session_id is set"
            )
        if "face_choose" in payload:
            return
        if "face_ids" in arguments:
            ListOf(Ident()).validate("face_ids", arguments["face_ids"], Findings())
        FACE_CHOICE.validate("face_choose[]", self._face("<each face>", arguments), Findings())

    def open_session(self, memory: SessionMemory) -> dict[str, Any]:
        remembered = memory.recall()
        if remembered is None and "session_id" in self.payload:
            remembered = {"session_id": self.payload["session_id"], "face_ids": None}
        if remembered is None:
            answer = self.hook.post_step("identify-face", self._video_source())
            faces = answer.get("face_data")
            if not isinstance(answer.get("session_id"), str) or not isinstance(faces, list):
                raise KlingResponseError("identify-face answered without a session_id or face_data")
            remembered = {
                "session_id": answer["session_id"],
                "expires": time.time() + SESSION_SECONDS,
                "face_ids": [face.get("face_id") for face in faces if isinstance(face, dict)],
            }
            memory.remember(remembered)
            self.log.info(
                "Kling found %d face(s); session %s", len(remembered["face_ids"]), answer["session_id"]
            )
        filled: dict[str, Any] = {"session_id": remembered["session_id"]}
        if "face_choose" not in self.payload:
            found = remembered.get("face_ids")
            chosen = self.session_arguments.get("face_ids") or found or []
            unknown = [face for face in chosen if found is not None and face not in found]
            if unknown or not chosen:
                raise KlingValidationError(
                    "face_ids must name faces Kling found in the video "
                    f"({', '.join(map(str, found or [])) or 'none known: set face_ids or face_choose'}); "
                    f"got {unknown or chosen}"
                )
            filled["face_choose"] = [self._face(face, self.session_arguments) for face in chosen]
        return filled


class KlingMultiElementsOperator(_SessionOperator):
    """Add, swap or remove an element of a video (``multi-elements``): ``init-selection`` on ``video_id`` or
    ``video_url``, ``add-selection`` for each of ``selections`` (``[{"frame_index": 0, "points": [{"x": 0.5,
    "y": 0.4}]}]``, coordinates 0-1), then the task, in one Airflow task. With ``session_id`` a selection
    session of your own is used (``selections`` are still added to it)."""

    filled_at_run_time = ("session_id",)
    session_keywords = ("video_id", "video_url", "selections")

    def __init__(
        self,
        *,
        session_id: str | None = None,
        edit_mode: str | None = None,
        image_list: list[Any] | None = None,
        prompt: str | None = None,
        model_name: str | None = None,
        callback_url: str | None = None,
        video_id: str | None = None,
        video_url: str | None = None,
        selections: list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_type="multi-elements", arguments=locals(), **kwargs)

    def check_session_arguments(self, arguments: dict[str, Any], payload: Mapping[str, Any]) -> None:
        if "session_id" not in payload:
            validate_step("init-selection", {k: arguments.get(k) for k in ("video_id", "video_url")})
        selections = arguments.get("selections", [])
        if not isinstance(selections, list | tuple):
            raise fail("selections", selections, 'a list of {"frame_index": int, "points": [{"x", "y"}]}')
        for index, selection in enumerate(selections):
            if not isinstance(selection, Mapping):
                raise fail(f"selections[{index}]", selection, 'an object {"frame_index", "points"}')
            fields = SESSION_STEPS["add-selection"].fields[1:]
            validate_fields(fields, selection, f"selections[{index}].", Findings())

    def open_session(self, memory: SessionMemory) -> dict[str, Any]:
        remembered = memory.recall()
        if remembered is None:
            if "session_id" in self.payload:
                session_id = self.payload["session_id"]
            else:
                answer = self.hook.post_step("init-selection", self._video_source())
                if not isinstance(answer.get("session_id"), str):
                    raise KlingResponseError("init-selection answered without a session_id")
                session_id = answer["session_id"]
            remembered = {"session_id": session_id, "expires": time.time() + SESSION_SECONDS, "added": 0}
            memory.remember(remembered)
        selections = list(self.session_arguments.get("selections", []))
        for index in range(int(remembered.get("added", 0)), len(selections)):
            self.hook.post_step(
                "add-selection", {"session_id": remembered["session_id"], **selections[index]}
            )
            remembered = {**remembered, "added": index + 1}
            memory.remember(remembered)
        return {"session_id": remembered["session_id"]}
