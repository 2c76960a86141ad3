"""The answers the API's operations share, declared once for the OpenAPI schema."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from annotations.api import serializers as s

BAD_REQUEST = OpenApiResponse(s.VALIDATION_ERROR_SCHEMA, description="Invalid input.")
FORBIDDEN = OpenApiResponse(
    s.DetailSerializer, description="Not signed in, or the caller's role may not do this."
)
NOT_FOUND = OpenApiResponse(
    s.DetailSerializer, description="No such object, or the caller may not see it."
)
CONFLICT = OpenApiResponse(
    s.ConflictSerializer, description="The layer changed since the client loaded it."
)
READ_ERRORS = {403: FORBIDDEN, 404: NOT_FOUND}
# Lists also answer 400 to a bad filter value and 404 to a page past the end.
LIST_ERRORS = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND}
WRITE_ERRORS = {400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND}
LAYER_WRITE_ERRORS = {**WRITE_ERRORS, 409: CONFLICT}
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The layer\'s version, quoted: "4".',
    response=[200, 201],
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    pattern=r'^(W/)?"?[0-9]{1,9}"?$',
    description='The layer version the client loaded, e.g. "4" (instead of ``version``).',
)
VERSION_QUERY = OpenApiParameter(
    "version",
    OpenApiTypes.INT,
    OpenApiParameter.QUERY,
    description="The layer version the client loaded (instead of If-Match).",
)
