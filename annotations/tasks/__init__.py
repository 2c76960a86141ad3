"""Celery tasks, one module per kind of job; imported here so autodiscovery finds them."""

from annotations.tasks import agreement, exports

__all__ = ["agreement", "exports"]
