"""Files one process writes and another reads, through Django's storage API only.

Export archives and uploaded import files live in the storage that ``STORAGES["default"]``
names (``STORAGE_BACKEND``): MEDIA_ROOT on this host's disk, or a bucket every host
reaches. Code elsewhere opens, saves and deletes through the storage and never asks
where a file is; the two places where the kinds of storage differ are here:

- publishing a finished file from this host's scratch folder: ``Storage.save`` moves it
  into MEDIA_ROOT (a rename when both are on one disk) or uploads it to the bucket;
- handing out a download: a file on the local disk is streamed by the web process; a file
  in a bucket is fetched by the client itself, from a signed link that expires after
  ``S3_URL_EXPIRE_SECONDS``. The caller checks the user's role before asking for the link.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile
from storages.backends.s3 import S3Storage


def scratch_folder() -> Path:
    """This host's own folder for files on their way (SCRATCH_DIR, by default the system's
    temporary folder): never one that other hosts share."""
    folder = Path(settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class ScratchFile(File):
    """A finished file in this host's scratch folder, ready to be stored.

    It says where it lies on disk, as Django's uploads kept on disk do, so that
    ``FileSystemStorage`` moves it into place instead of copying it; a bucket reads it as
    any other file.
    """

    def __init__(self, source: IO[bytes], *, path: Path, name: str):
        super().__init__(source, name=name)
        self.path = path

    def temporary_file_path(self) -> str:
        return str(self.path)


def publish(storage: Storage, path: Path, name: str) -> str:
    """Store the file at ``path`` under exactly ``name``; the name it is stored under.

    ``path`` is gone afterwards, stored or not. A file already stored under ``name`` (a
    retried attempt's own) is replaced.
    """
    try:
        if storage.exists(name):
            storage.delete(name)
        with path.open("rb") as source:
            return storage.save(name, ScratchFile(source, path=path, name=PurePath(name).name))
    finally:
        path.unlink(missing_ok=True)


def signed_url(file: FieldFile, *, filename: str, content_type: str) -> str | None:
    """A short-lived signed link that downloads ``file`` as ``filename``, when the file is
    in a bucket; None when the web process streams it itself (the local disk)."""
    storage = file.storage
    if not isinstance(storage, S3Storage):
        return None
    return str(
        storage.url(
            file.name,
            parameters={
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": content_type,
            },
            expire=settings.S3_URL_EXPIRE_SECONDS,
        )
    )
