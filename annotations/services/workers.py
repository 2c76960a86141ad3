"""Whether any Celery worker is there to run a job."""

from __future__ import annotations

import logging

from django.conf import settings

from workbench.celery import app

logger = logging.getLogger(__name__)

NO_WORKER_WARNING = (
    "No Celery worker is answering: the job waits in the queue until one starts "
    "(celery -A workbench worker)."
)


def workers_answering(timeout: float = 1.0) -> list[str]:
    """Names of the workers that answer a ping; in eager mode, the web process itself."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return ["eager (in-process)"]
    try:
        replies = app.control.ping(timeout=timeout)
    except Exception:  # Any broker failure means nobody can answer.
        logger.warning("worker ping failed", exc_info=True)
        return []
    return sorted(name for reply in replies for name in reply)


def a_worker_answers(timeout: float = 1.0) -> bool:
    """Whether any worker answers a ping: returns at the first reply, where listing every
    worker (``workers_answering``) waits the whole timeout for stragglers."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True
    try:
        return bool(app.control.ping(timeout=timeout, limit=1))
    except Exception:  # Any broker failure means nobody can answer.
        logger.warning("worker ping failed", exc_info=True)
        return False
