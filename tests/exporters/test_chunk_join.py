"""The join's arithmetic: a file's CRC-32 from its pieces', without reading them again."""

from __future__ import annotations

import zlib

from hypothesis import given
from hypothesis import strategies as st

from annotations.exporters.chunked import crc32_combine


@given(st.lists(st.binary(max_size=3000), min_size=1, max_size=6))
def test_the_crc_of_pieces_end_to_end_is_the_crc_of_the_whole(pieces):
    crc = 0
    for piece in pieces:
        crc = crc32_combine(crc, zlib.crc32(piece), len(piece))

    assert crc == zlib.crc32(b"".join(pieces))


def test_a_piece_longer_than_the_join_buffer_combines_too():
    first, second = b"head" * 10, bytes(range(256)) * 9000  # 2.3 MB: past one buffer

    assert crc32_combine(zlib.crc32(first), zlib.crc32(second), len(second)) == zlib.crc32(
        first + second
    )
