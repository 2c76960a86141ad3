"""The largest upload the workbench takes, enforced while the body streams in.

Django's own limits leave file uploads alone (``DATA_UPLOAD_MAX_MEMORY_SIZE`` counts only
the other form fields), so this handler, first in ``FILE_UPLOAD_HANDLERS``, refuses a body
whose Content-Length is over ``UPLOAD_MAX_BYTES`` before a byte of it is read, and one
that says less than it sends as soon as the count passes the limit.

API requests get a 413 with the reason. A page cannot answer from here (the CSRF check
reads the form before any view runs), so for pages the handler stops storing the upload,
lets the rest of the body be read and dropped, and marks the request
(``upload_too_large``): the view shows the reason next to its file field.
"""

from __future__ import annotations

from typing import IO, Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from rest_framework import status
from rest_framework.exceptions import APIException


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "upload_too_large"

    def __init__(self) -> None:
        limit = settings.UPLOAD_MAX_BYTES
        super().__init__(
            f"The upload is larger than the {limit // 2**20} MiB this server takes "
            f"({limit:,} bytes); split the file, or ask the operator for UPLOAD_MAX_BYTES."
        )


API_PREFIX = "/api/"


def upload_too_large(request: HttpRequest) -> bool:
    """Whether a page's upload was refused for its size (see the module's docstring)."""
    return bool(getattr(request, "upload_too_large", False))


class UploadLimitHandler(FileUploadHandler):
    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        self.received = 0
        self.over_limit = content_length > settings.UPLOAD_MAX_BYTES
        if self.over_limit:
            self._refuse(before_reading=True)

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.over_limit:
            self._refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            self._refuse()
        return raw_data  # the next handler stores it

    def _refuse(self, *, before_reading: bool = False) -> None:
        if self.request is None or self.request.path.startswith(API_PREFIX):
            raise UploadTooLarge()
        if before_reading:
            return  # the form's first fields (the CSRF token) are still read
        self.request.upload_too_large = True  # type: ignore[attr-defined]
        raise StopUpload(connection_reset=False)

    def file_complete(self, file_size: int) -> None:
        return None
