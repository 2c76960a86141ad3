from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from annotations.exporters.zipstream import StreamingZip


def test_streamed_zip_reads_back_with_zipfile_crc_and_names_intact(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    with path.open("wb") as out:
        archive = StreamingZip(out)
        with archive.open("text/ü 🇦🇫.txt") as member:
            member.write("کتاب 😀\n".encode())
            member.write(b"x" * 100_000)
        with archive.open("raw.bin", compress=False) as member:
            member.write(bytes(range(256)))
        archive.close()
    with zipfile.ZipFile(path) as read:
        assert read.testzip() is None
        assert read.namelist() == ["text/ü 🇦🇫.txt", "raw.bin"]
        assert read.read("text/ü 🇦🇫.txt") == "کتاب 😀\n".encode() + b"x" * 100_000
        assert read.getinfo("raw.bin").compress_type == zipfile.ZIP_STORED
        assert read.getinfo("text/ü 🇦🇫.txt").compress_size < 2_000
        assert read.read("raw.bin") == bytes(range(256))


def test_large_members_compressed_in_the_background_arrive_whole_and_in_order(
    tmp_path: Path,
) -> None:
    pieces = [f"{number:08d} کتاب 😀\n".encode() * 40 for number in range(20_000)]
    path = tmp_path / "big.zip"
    with path.open("wb") as out:
        archive = StreamingZip(out)
        with archive.open("big.txt") as member:
            for piece in pieces:
                member.write(piece)
        with archive.open("after.txt") as member:
            member.write(b"after")
        archive.close()
    with zipfile.ZipFile(path) as read:
        assert read.testzip() is None
        assert read.read("big.txt") == b"".join(pieces)
        assert read.read("after.txt") == b"after"


def test_streamed_zip_holds_more_members_than_plain_zip_headers_can_count(
    tmp_path: Path,
) -> None:
    path = tmp_path / "many.zip"
    with path.open("wb") as out:
        archive = StreamingZip(out)
        for number in range(70_000):
            with archive.open(f"m/{number}.txt") as member:
                member.write(str(number).encode())
        archive.close()
    with zipfile.ZipFile(path) as read:
        names = read.namelist()
        assert len(names) == 70_000
        assert read.read("m/69999.txt") == b"69999"


def test_only_one_member_is_written_at_a_time(tmp_path: Path) -> None:
    with (tmp_path / "x.zip").open("wb") as out:
        archive = StreamingZip(out)
        archive.open("a")
        with pytest.raises(RuntimeError):
            archive.open("b")
