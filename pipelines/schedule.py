"""Serving the `retrain` flow as a scheduled Prefect deployment.

At most one run at a time: the deployment's concurrency limit is 1, and a run triggered while
another is going waits for the slot (`ENQUEUE`), never runs beside it. The schedule stays
active when the serving process stops (`pause_on_shutdown=False`), so a restart does not
silently leave it paused; runs that came due meanwhile wait until it serves again.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy

from imgflow.pipelines.retrain import retrain

ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)


def serve_retrain(
    project_dir: Path,
    set_params: list[str],
    cron: str | None,
    interval: timedelta | None,
    name: str,
    train_timeout_minutes: float,
) -> None:
    """Register the deployment (parameters editable in the UI) and run its flow runs; blocks."""
    retrain.serve(
        name=name,
        cron=cron,
        interval=interval,
        parameters={
            "project_dir": str(project_dir),
            "set_params": set_params,
            "force": False,
            "train_timeout_minutes": train_timeout_minutes,
        },
        global_limit=ONE_AT_A_TIME,
        pause_on_shutdown=False,
        description="Retrain a challenger and promote it only through params.yaml's gate.",
        tags=["imgflow"],
    )
