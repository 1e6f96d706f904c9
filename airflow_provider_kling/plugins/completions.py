"""The server side of event-driven completion: confirm with Kling that a task ended, record its one event.

Runs in the Airflow API server (the callback plugin, Airflow >= 3.1), with the metadata DB and Airflow's
asset manager at hand. A callback, or the sweep, only names a task: ``confirm_and_record`` asks Kling for it
(the answer must carry the submission's ``external_task_id``, so a valid URL cannot be pointed at another
task), and records an event only when Kling says the task ended and no event for it exists yet. The event's
source is the submitting task instance, which is also how an existing one is found.

``sweep`` is the safety net for callbacks that never came: it walks the submissions the operators noted in
XCom ``kling_completion`` within a window, and settles those without an event.

Airflow 3.3 can strand an event recorded while the scheduler turns the asset's queue into a run
(``requeue_stranded``): after each recording, a check some seconds after the asset's latest event queues the
consumers again if so, and the sweep checks too.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from airflow_provider_kling.callbacks import KLING_COMPLETION_XCOM_KEY, CallbackAuthError, CallbackTarget
from airflow_provider_kling.checks import validate_task_id
from airflow_provider_kling.events import (
    TERMINAL_STATUSES,
    completion_extra,
    is_completion_extra,
    task_external_id,
)
from airflow_provider_kling.exceptions import KlingError, KlingValidationError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from airflow_provider_kling.hooks.connection import KlingConnectionSettings
    from airflow_provider_kling.hooks.kling import KlingHook

log = logging.getLogger(__name__)

#: An event this much older than its consumer's last run and still unqueued was stranded (the scheduler
#: turns a queue into a run within a loop, well under this).
STRANDED_AFTER = 10.0

#: Check-then-record is one critical section per API server process; on PostgreSQL and MySQL the asset's
#: row is also locked (``FOR UPDATE``), so several API server processes record each event once as well.
_RECORDING = threading.Lock()
#: One pending check per asset (``watch_consumers``), re-armed by each new event.
_CHECKS: dict[tuple[str, str], threading.Timer] = {}
_CHECKS_LOCK = threading.Lock()


def connection_settings(conn_id: str) -> KlingConnectionSettings | None:
    """The ``kling`` connection a callback names, or ``None`` (missing, another type, unusable): the caller
    answers all of these alike, so a stranger learns nothing about the connections."""
    from airflow.providers.common.compat.sdk import BaseHook

    from airflow_provider_kling.hooks.connection import build_settings

    try:
        conn = BaseHook.get_connection(conn_id)
        if conn.conn_type != "kling":
            log.warning("Kling callback for connection %r, which is not a kling connection", conn_id)
            return None
        return build_settings(
            conn_id,
            host=conn.host,
            port=conn.port,
            login=conn.login,
            password=conn.password,
            extras=conn.extra_dejson,
        )
    except Exception as err:
        log.warning("Kling callback for connection %r, which is unusable: %s", conn_id, type(err).__name__)
        return None


def _recorded(session: Session, target: CallbackTarget, kling_task_id: str) -> bool:
    from airflow.models.asset import AssetEvent, AssetModel

    extras = session.scalars(
        select(AssetEvent.extra)
        .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
        .where(
            AssetModel.name == target.asset_name,
            AssetModel.uri == target.asset_uri,
            AssetEvent.source_dag_id == target.dag_id,
            AssetEvent.source_run_id == target.run_id,
            AssetEvent.source_task_id == target.task_id,
            AssetEvent.source_map_index == target.map_index,
        )
    )
    return any(is_completion_extra(extra) and extra["task_id"] == kling_task_id for extra in extras)


def already_recorded(target: CallbackTarget, kling_task_id: str) -> bool:
    from airflow.utils.session import create_session

    with create_session() as session:
        return _recorded(session, target, kling_task_id)


def record(target: CallbackTarget, task: Mapping[str, Any]) -> str:
    """Record the event of an ended task once: ``recorded``, ``already_recorded`` or ``unknown_asset``."""
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session

    kling_task_id = str(task["task_id"])
    with _RECORDING, create_session() as session:
        asset = session.scalar(
            select(AssetModel)
            .where(AssetModel.name == target.asset_name, AssetModel.uri == target.asset_uri)
            .with_for_update()
        )
        if asset is None:
            log.warning(
                "Kling task %s ended, but asset %r is unknown to Airflow: declare it in a DAG (schedule it, "
                "or list it in a task's inlets); the sweep records the event once it exists",
                kling_task_id,
                target.asset_name,
            )
            return "unknown_asset"
        if _recorded(session, target, kling_task_id):
            return "already_recorded"
        event = asset_manager.register_asset_change(
            asset=asset, extra=completion_extra(target, task), session=session
        )
        if event is None:
            return "unknown_asset"
        # The submitting task instance is the event's source: the UI links it, and duplicates are found by it.
        event.source_dag_id, event.source_run_id = target.dag_id, target.run_id
        event.source_task_id, event.source_map_index = target.task_id, target.map_index
    watch_consumers(target.asset_name, target.asset_uri)
    log.info(
        "Recorded the completion of Kling %s task %s (%s) on asset %r for %s/%s/%s[%d]",
        target.task_type,
        kling_task_id,
        task.get("task_status"),
        target.asset_name,
        target.dag_id,
        target.run_id,
        target.task_id,
        target.map_index,
    )
    return "recorded"


def confirm_and_record(target: CallbackTarget, kling_task_id: str, hook: KlingHook | None = None) -> str:
    """Settle one task: ``already_recorded`` (no query), else what Kling's own answer leads to: ``running``,
    ``not_this_target`` (its external id is not the URL's), ``error`` (no answer), or ``record``'s outcome."""
    if already_recorded(target, kling_task_id):
        return "already_recorded"
    if hook is None:
        from airflow_provider_kling.hooks.kling import KlingHook

        hook = KlingHook(target.conn_id)
    try:
        task = hook.get_task(target.task_type, kling_task_id)
    except (KlingError, KlingValidationError) as err:
        log.warning("Kling callback: querying %s task %s failed: %s", target.task_type, kling_task_id, err)
        return "error"
    if task_external_id(task) != target.external_task_id:
        log.warning(
            "Kling callback named task %s, whose external_task_id is not the one its callback URL was made "
            "for: ignored",
            kling_task_id,
        )
        return "not_this_target"
    if task.get("task_status") not in TERMINAL_STATUSES:
        return "running"
    return record(target, task)


def requeue_stranded(asset_name: str, asset_uri: str) -> int:
    """Queue again the DAGs scheduled on the asset that hold an event no run consumed; returns how many.

    Airflow 3.3 keeps one queue row per (asset, DAG): an event recorded while the scheduler turns that row
    into a run is neither consumed (it is newer than the run) nor queued (the row is then deleted), and waits
    for the next event (apache/airflow#62501, #70970). A queue row makes the next run consume it.
    """
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel, DagScheduleAssetReference
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunType
    from sqlalchemy import func

    settled = datetime.now(UTC) - timedelta(seconds=STRANDED_AFTER)
    requeued = 0
    with _RECORDING, create_session() as session:
        asset = session.scalar(
            select(AssetModel).where(AssetModel.name == asset_name, AssetModel.uri == asset_uri)
        )
        if asset is None:
            return 0
        newest = session.scalar(select(func.max(AssetEvent.timestamp)).where(AssetEvent.asset_id == asset.id))
        consumers = session.scalars(
            select(DagScheduleAssetReference.dag_id)
            .join(DagModel, DagModel.dag_id == DagScheduleAssetReference.dag_id)
            .where(DagScheduleAssetReference.asset_id == asset.id, DagModel.is_paused.is_(False))
        ).all()
        for dag_id in consumers:
            if newest is None or newest > settled or session.get(AssetDagRunQueue, (asset.id, dag_id)):
                continue
            last_run = session.scalar(
                select(func.max(DagRun.run_after)).where(
                    DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED
                )
            )
            if last_run is None or newest > last_run:
                session.add(AssetDagRunQueue(asset_id=asset.id, target_dag_id=dag_id))
                requeued += 1
                log.warning(
                    "Asset %r had an event no run of %s consumed: queued it again", asset_name, dag_id
                )
    return requeued


def watch_consumers(asset_name: str, asset_uri: str) -> None:
    """Run ``requeue_stranded`` once the asset has had no new event for ``STRANDED_AFTER`` seconds."""
    key = (asset_name, asset_uri)

    def check() -> None:
        with _CHECKS_LOCK:
            if _CHECKS.get(key) is timer:
                del _CHECKS[key]
        try:
            requeue_stranded(asset_name, asset_uri)
        except Exception:
            log.exception("Checking that the consumers of asset %r got its events failed", asset_name)

    timer = threading.Timer(STRANDED_AFTER + 1, check)
    timer.daemon = True
    with _CHECKS_LOCK:
        previous = _CHECKS.get(key)
        if previous is not None:
            previous.cancel()
        _CHECKS[key] = timer
    timer.start()


def _submission(row: Any) -> tuple[CallbackTarget, str]:
    """The target and Kling task id an XCom ``kling_completion`` row holds; it must name its own task
    instance (the row's), so no task can have events recorded in another's name."""
    from airflow.models.xcom import XComModel

    value = XComModel.deserialize_value(row)
    if not isinstance(value, Mapping):
        raise CallbackAuthError("not a mapping")
    fields = dict(value)
    kling_task_id = validate_task_id(str(fields.pop("kling_task_id", "")), "kling_task_id")
    target = CallbackTarget.from_dict(fields)
    own = (row.dag_id, row.run_id, row.task_id, row.map_index)
    if (target.dag_id, target.run_id, target.task_id, target.map_index) != own:
        raise CallbackAuthError("names another task instance")
    return target, kling_task_id


def sweep(conn_id: str, *, grace_period: float, lookback: float, max_queries: int) -> dict[str, int]:
    """Settle the submissions of ``conn_id`` made between ``lookback`` and ``grace_period`` seconds ago that
    have no event, querying Kling for at most ``max_queries`` of them; returns a count per outcome."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    now = datetime.now(UTC)
    with create_session() as session:
        rows = session.scalars(
            select(XComModel)
            .where(
                XComModel.key == KLING_COMPLETION_XCOM_KEY,
                XComModel.timestamp >= now - timedelta(seconds=lookback),
                XComModel.timestamp <= now - timedelta(seconds=grace_period),
            )
            .order_by(XComModel.timestamp)
        ).all()
        submissions = []
        counts: Counter[str] = Counter()
        for row in rows:
            try:
                submissions.append(_submission(row))
            except (CallbackAuthError, KlingValidationError) as err:
                log.warning(
                    "Sweep: ignoring XCom kling_completion of %s/%s: %s", row.dag_id, row.task_id, err
                )
                counts["malformed"] += 1
    hook: KlingHook | None = None
    for target, kling_task_id in submissions:
        if target.conn_id != conn_id:
            continue
        counts["submissions"] += 1
        if already_recorded(target, kling_task_id):
            counts["already_recorded"] += 1
            continue
        if counts["queries"] >= max_queries:
            counts["left_for_next_sweep"] += 1
            continue
        if hook is None:
            from airflow_provider_kling.hooks.kling import KlingHook

            hook = KlingHook(conn_id)
        counts["queries"] += 1
        counts[confirm_and_record(target, kling_task_id, hook)] += 1
    for asset in sorted({(t.asset_name, t.asset_uri) for t, _ in submissions if t.conn_id == conn_id}):
        counts["requeued_runs"] += requeue_stranded(*asset)
    counts = +counts  # drop the zero counts
    log.info("Kling completion sweep of connection %r: %s", conn_id, dict(counts))
    return dict(counts)
