"""Variant jobs route to their task on the render queue, named by the variant, and the reconciler knows them."""

from __future__ import annotations

from store.models import Job
from workers import reconcile, tasks
from workers.dispatch import task_for, task_subject


def test_a_variant_job_runs_liveslice_render_variant_on_the_render_queue() -> None:
    job = Job(kind="variant", options={"clip_id": "c1", "leader_id": "ann", "variant_id": "v1"})
    assert task_for("variant") == ("liveslice.render_variant", "render")
    assert task_subject(job) == "v1"
    assert tasks.render_variant_task.name == "liveslice.render_variant"
    assert "variant" in reconcile.JOB_TASKS  # a lost variant job is re-sent like any other
