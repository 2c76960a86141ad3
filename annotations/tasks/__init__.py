"""Celery tasks, one module per kind of job, plus the recovery of jobs whose worker died;
imported here so that autodiscovery finds them."""

from annotations.tasks import agreement, exports, imports, recovery

__all__ = ["agreement", "exports", "imports", "recovery"]
