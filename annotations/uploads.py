"""The largest upload the workbench takes, enforced while the body streams in.

Django's own limits leave file uploads alone (``DATA_UPLOAD_MAX_MEMORY_SIZE`` counts only
the other form fields), so this handler, first in ``FILE_UPLOAD_HANDLERS``, refuses a body
whose Content-Length is over ``UPLOAD_MAX_BYTES`` before a byte of it is read, and one
that says less than it sends as soon as the count passes the limit.
"""

from __future__ import annotations

from typing import IO

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
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


class UploadLimitHandler(FileUploadHandler):
    def handle_raw_input(
        self,
        input_data: IO[bytes],
        META: dict[str, str],
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        if content_length > settings.UPLOAD_MAX_BYTES:
            raise UploadTooLarge()
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            raise UploadTooLarge()
        return raw_data  # the next handler stores it

    def file_complete(self, file_size: int) -> None:
        return None
