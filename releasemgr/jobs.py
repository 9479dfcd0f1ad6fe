"""Work that talks to a git remote, done by a task while the page shows its status.

A web request never waits on the network: a view that needs a remote (starting a feature,
creating an environment branch, resolving a standalone deploy's revision) records a `Job`,
hands it to the task cluster and redirects to the job's page, which polls until it ends. The
task claims the job idempotently (a conditional UPDATE), does the work, and records the outcome:
a sentence, and where to go next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from releasemgr import tokens
from releasemgr.models import AccessToken, Job, JobStatus

logger = logging.getLogger(__name__)


class JobFailed(Exception):
    """The job cannot be done as asked; the message is shown on the job's page."""


def enqueue(task: Callable[[int], Any], *, title: str, user: Any, params: dict[str, Any]) -> Job:
    """Record a job and hand it to the task cluster once the transaction commits."""
    token = tokens.current()
    if token is not None:
        params = {**params, "via_token": token.pk}
    job = Job.objects.create(title=title[:200], requested_by=user, params=params)
    transaction.on_commit(lambda: async_task(task, job.pk, task_name=f"job-{job.pk}"))
    return job


def run(
    job_id: int,
    work: Callable[[Job], tuple[str, str]],
    expected: tuple[type[Exception], ...] = (),
) -> str:
    """Claim the job and do `work` (which returns the outcome message and the next URL).

    `JobFailed` and the `expected` exceptions end the job failed with their message; anything
    else ends it failed too, with a generic sentence (and the traceback in the log). What the
    work puts in `job.result` is recorded either way.
    """
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return "skipped"  # already taken by another worker, or done
    job = Job.objects.get(pk=job_id)
    refusals: tuple[type[Exception], ...] = (JobFailed, *expected)
    token = AccessToken.objects.filter(pk=job.params.get("via_token") or 0).first()
    try:
        with tokens.using(token):
            message, url = work(job)
    except refusals as exc:
        return _finish(job, JobStatus.FAILED, _message(exc), "")
    except Exception:
        logger.exception("Job %s (%s) errored", job.pk, job.title)
        return _finish(
            job, JobStatus.FAILED, "An unexpected error stopped this job; it is logged.", ""
        )
    return _finish(job, JobStatus.SUCCEEDED, message, url)


def _message(exc: Exception) -> str:
    messages = getattr(exc, "messages", None)
    return " ".join(messages) if messages else str(exc)


def _finish(job: Job, status: str, message: str, url: str) -> str:
    Job.objects.filter(pk=job.pk).update(
        status=status,
        message=message[:2000],
        result_url=url,
        result=job.result,
        finished_at=timezone.now(),
    )
    return str(status)
