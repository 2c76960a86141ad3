"""One error shape per status, whatever raised it.

- 400: ``{"<field>": ["reason", ...]}``, flat. Nested input errors get dotted paths
  (``spans[3].end``, ``attrs.polarity``), a body that is not JSON lands under ``detail``.
- 409: ``{"detail": "...", "current_version": N}`` with the layer's ``ETag``.
- 503: ``{"detail": "...", "id": N, "status": "queued"}``: a job was saved but the broker
  did not take its task; the sweep starts it later.
- 401/403/404: DRF's ``{"detail": "..."}``.

Services raise Django's ``ValidationError`` (field -> reasons), ``PermissionDenied``
(the reason a visible object is read-only), ``LayerConflict`` and ``DoesNotExist`` (an
object gone by the time the write took its lock: 404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from annotations.services.jobs import BrokerUnavailable
from annotations.services.layers import CONFLICT_MESSAGE, LayerConflict


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as one level of ``path -> [reasons]``.

    Dict keys join with dots, list positions (and ListField's integer keys) with
    brackets; a bare message lands under ``prefix`` or ``detail``.
    """
    flat: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if isinstance(key, int):
                    walk(item, f"{path}[{key}]")
                else:
                    walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list | tuple):
            if all(isinstance(item, str) for item in value):
                if value:
                    flat.setdefault(path or "detail", []).extend(str(item) for item in value)
            else:
                for index, item in enumerate(value):
                    walk(item, f"{path}[{index}]")
        else:
            flat.setdefault(path or "detail", []).append(str(value))

    walk(detail, prefix)
    return flat


def conflict_response(exc: LayerConflict) -> Response:
    return Response(
        {"detail": CONFLICT_MESSAGE, "current_version": exc.current_version},
        status=status.HTTP_409_CONFLICT,
        headers={"ETag": f'"{exc.current_version}"'},
    )


def broker_unavailable_response(exc: BrokerUnavailable) -> Response:
    return Response(
        {
            "detail": "The job queue is not answering. The job is saved, queued, and starts "
            "by itself once the queue answers again: do not start it twice.",
            "id": exc.job.pk,
            "status": exc.job.status,
        },
        status=status.HTTP_503_SERVICE_UNAVAILABLE,
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, LayerConflict):
        return conflict_response(exc)
    if isinstance(exc, BrokerUnavailable):
        return broker_unavailable_response(exc)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, ObjectDoesNotExist):
        # Services name what is missing ("No such span."), e.g. a span deleted by a
        # concurrent write before this one took the layer's lock.
        exc = exceptions.NotFound(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = flatten_errors(response.data)
    return response
