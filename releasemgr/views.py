"""Pages every part of the site shares: the health check."""

import tempfile

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.status import Stat


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"database unreachable: {exc.__class__.__name__}"
    return None


def _check_data_dir() -> str | None:
    try:
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=settings.DATA_DIR):
            pass
    except OSError as exc:
        return f"data directory not writable: {exc.strerror}"
    return None


def _check_cluster() -> str | None:
    try:
        running = [s for s in Stat.get_all(get_broker()) if s.status in (Conf.IDLE, Conf.WORKING)]
    except Exception as exc:
        return f"task cluster status unavailable: {exc.__class__.__name__}"
    if not running:
        return "no task cluster is running (start one with `manage.py qcluster`)"
    return None


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and `make run`'s users: is this node able to do its work?"""
    checks = {
        "database": _check_database(),
        "data_dir": _check_data_dir(),
        "task_cluster": _check_cluster(),
    }
    problems = {name: problem for name, problem in checks.items() if problem}
    body = {
        "status": "ok" if not problems else "unhealthy",
        "checks": {name: problems.get(name, "ok") for name in checks},
    }
    return JsonResponse(body, status=503 if problems else 200)
