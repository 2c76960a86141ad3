"""A zip writer whose memory does not grow with the number of members.

``zipfile.ZipFile`` keeps a ``ZipInfo`` (about 400 bytes) for every member until it writes
the central directory at the end: a brat export of 100,000 documents in four layers has
800,000 members, so some 300 MB. This writer appends each member's central directory
record to a temporary file instead and copies it in at the end. What it writes is plain
zip (APPNOTE 6.3): deflated or stored members, UTF-8 names, and always the ZIP64 fields
and end records, so sizes, offsets and member counts have no 32-bit limit. Python's
``zipfile``, ``unzip`` and every archive tool read it.

The target must be seekable (a file): each member's local header is patched with its CRC
and sizes once the member is written.
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import IO

_NO32 = 0xFFFFFFFF
_VERSION = 45  # 4.5: ZIP64
_MADE_BY = (3 << 8) | _VERSION  # Unix, so that the permission bits below apply
_UTF8 = 1 << 11
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01: fixed, so archives compare by content
_DOS_TIME = 0
_PERMISSIONS = 0o100644 << 16
DEFLATED = 8
STORED = 0
# zlib's level 4, not its default 6: on exported JSONL and CoNLL, 6 took twice (JSONL) to
# two and a half times (CoNLL) as long for archives 12 % and 9 % smaller (bench/README.md).
DEFLATE_LEVEL = 4
# How a joinable member's deflated data ends: an empty block that ends on a byte boundary
# (zlib's sync flush), then the final block, empty too.
SYNC_MARK = b"\x00\x00\xff\xff"
FINAL_BLOCK = b"\x03\x00"
# Large members are compressed in a thread, a chunk at a time, a few chunks ahead at most.
CHUNK = 1 << 20
IN_FLIGHT = 4


def _local_header(name: bytes, method: int, *, crc: int, size: int, compressed: int) -> bytes:
    """A member's local header, its sizes in the ZIP64 extra field."""
    fixed = struct.pack(
        "<IHHHHHIIIHH",
        0x04034B50,
        _VERSION,
        _UTF8,
        method,
        _DOS_TIME,
        _DOS_DATE,
        crc,
        _NO32,
        _NO32,
        len(name),
        20,
    )
    return fixed + name + struct.pack("<HHQQ", 0x0001, 16, size, compressed)


class MemberWriter:
    """One member being written: compresses, counts and checks what it is given."""

    def __init__(self, archive: StreamingZip, name: str, method: int, *, joinable: bool = False):
        self._archive = archive
        self._joinable = joinable
        self._name = name.encode()
        self._method = method
        self._compressor = (
            zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15) if method == DEFLATED else None
        )
        self._crc = 0
        self._size = 0
        self._compressed = 0
        self._out = archive.out
        self._header_at = self._out.tell()
        # CRC and sizes (in the ZIP64 extra) are patched on close.
        self._out.write(_local_header(self._name, method, crc=0, size=0, compressed=0))
        self._pending = bytearray()
        self._jobs: deque[Future[None]] = deque()
        self.closed = False

    def write(self, data: bytes) -> int:
        self._pending += data
        self._size += len(data)
        if len(self._pending) >= CHUNK:
            self._hand_over(bytes(self._pending))
            self._pending.clear()
        return len(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        """Nothing to do: close() writes what is pending."""

    def _consume(self, chunk: bytes, last: bool) -> None:
        # zlib lets go of the GIL while it works: in the compressing thread this overlaps
        # with the Python that makes the next chunk.
        self._crc = zlib.crc32(chunk, self._crc)
        out = self._compressor.compress(chunk) if self._compressor else chunk
        if last and self._compressor:
            if self._joinable:
                out += self._compressor.flush(zlib.Z_SYNC_FLUSH)
            out += self._compressor.flush()
        self._out.write(out)
        self._compressed += len(out)

    def _hand_over(self, chunk: bytes) -> None:
        self._jobs.append(self._archive.compressing_thread().submit(self._consume, chunk, False))
        while len(self._jobs) > IN_FLIGHT:
            self._jobs.popleft().result()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        rest = bytes(self._pending)
        self._pending.clear()
        if self._jobs:  # a large member: finish in order, in the same thread
            self._jobs.append(self._archive.compressing_thread().submit(self._consume, rest, True))
            while self._jobs:
                self._jobs.popleft().result()
        else:  # a small member: no thread needed
            self._consume(rest, True)
        end = self._out.tell()
        self._out.seek(self._header_at + 14)
        self._out.write(struct.pack("<I", self._crc))
        self._out.seek(self._header_at + 30 + len(self._name) + 4)
        self._out.write(struct.pack("<QQ", self._size, self._compressed))
        self._out.seek(end)
        self._archive._directory_entry(
            self._name, self._method, self._crc, self._size, self._compressed, self._header_at
        )

    def __enter__(self) -> MemberWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class StreamingZip:
    """Members written one at a time with :meth:`open`; :meth:`close` ends the archive."""

    def __init__(self, target: IO[bytes]):
        self.out = target
        # Central directory records wait here until close() copies them in.
        self._directory = tempfile.TemporaryFile()  # noqa: SIM115
        self._count = 0
        self._current: MemberWriter | None = None
        self._thread: ThreadPoolExecutor | None = None

    def compressing_thread(self) -> ThreadPoolExecutor:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zip")
        return self._thread

    def open(self, name: str, *, compress: bool = True, joinable: bool = False) -> MemberWriter:
        """A member to write; ``joinable``: deflated so that its data, less the final block
        (``FINAL_BLOCK``), can be followed by the next piece of the same file."""
        if self._current is not None and not self._current.closed:
            raise RuntimeError("close the member being written before opening another")
        method = DEFLATED if compress or joinable else STORED
        self._current = MemberWriter(self, name, method, joinable=joinable)
        return self._current

    def copy_compressed(
        self, name: str, *, method: int, crc: int, size: int, source: IO[bytes], length: int
    ) -> None:
        """A member whose data is already compressed (``length`` bytes of ``source``, as
        another zip holds them): copied as it is, a buffer at a time."""
        if self._current is not None and not self._current.closed:
            raise RuntimeError("close the member being written before copying another")
        encoded = name.encode()
        header_at = self.out.tell()
        self.out.write(_local_header(encoded, method, crc=crc, size=size, compressed=length))
        left = length
        while left and (data := source.read(min(CHUNK, left))):
            self.out.write(data)
            left -= len(data)
        if left:
            raise ValueError(f"{name}: the source ended {left} bytes early")
        self._directory_entry(encoded, method, crc, size, length, header_at)

    def _directory_entry(
        self, name: bytes, method: int, crc: int, size: int, compressed: int, offset: int
    ) -> None:
        self._count += 1
        header = struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            _MADE_BY,
            _VERSION,
            _UTF8,
            method,
            _DOS_TIME,
            _DOS_DATE,
            crc,
            _NO32,
            _NO32,
            len(name),
            28,
            0,
            0,
            0,
            _PERMISSIONS,
            _NO32,
        )
        extra = struct.pack("<HHQQQ", 0x0001, 24, size, compressed, offset)
        self._directory.write(header + name + extra)

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        start = self.out.tell()
        self._directory.seek(0)
        shutil.copyfileobj(self._directory, self.out, 1024 * 1024)
        self._directory.close()
        end = self.out.tell()
        size = end - start
        self.out.write(
            struct.pack(
                "<IQHHIIQQQQ",
                0x06064B50,
                44,
                _MADE_BY,
                _VERSION,
                0,
                0,
                self._count,
                self._count,
                size,
                start,
            )
        )
        self.out.write(struct.pack("<IIQI", 0x07064B50, 0, end, 1))
        self.out.write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(self._count, 0xFFFF),
                min(self._count, 0xFFFF),
                _NO32,
                _NO32,
                0,
            )
        )
        self.out.flush()
        self._stop_thread()

    def abort(self) -> None:
        self._directory.close()
        self._stop_thread()

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True, cancel_futures=True)
            self._thread = None
