"""Whether any Celery worker is there to run a job, and what waits in the queue for one."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping

from django.conf import settings

from workbench.celery import app

logger = logging.getLogger(__name__)

# Messages read from the broker at a time when looking for a job's waiting tasks.
QUEUE_PAGE = 1000

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


def waiting_claims(job_arguments: Mapping[str, int]) -> set[tuple[int, int]]:
    """The ``(job id, token)`` of every message waiting in the broker's queue, for tasks
    that take them as arguments ``n`` and ``n + 1`` (``job_arguments``: name -> ``n``).

    Messages a worker has taken are not listed: with late acknowledgement and a prefetch
    of one, a worker takes a message only to run it. Only Redis, the broker of every
    deployment, is read; without a broker nothing waits.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return set()
    try:
        return _read_queue(job_arguments)
    except Exception:  # The sweep goes on by the heartbeats alone, as before chunks.
        logger.warning("reading the broker's queue failed", exc_info=True)
        return set()


def _read_queue(job_arguments: Mapping[str, int]) -> set[tuple[int, int]]:
    waiting: set[tuple[int, int]] = set()
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        queue = app.conf.task_default_queue
        for priority in channel.priority_steps:
            key = channel._q_for_pri(queue, priority)
            for start in range(0, channel.client.llen(key), QUEUE_PAGE):
                for raw in channel.client.lrange(key, start, start + QUEUE_PAGE - 1):
                    message = json.loads(raw)
                    position = job_arguments.get(message.get("headers", {}).get("task"))
                    if position is None:
                        continue
                    args = json.loads(base64.b64decode(message["body"]))[0]
                    waiting.add((int(args[position]), int(args[position + 1])))
    return waiting
