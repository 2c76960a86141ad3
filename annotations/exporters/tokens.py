"""The tokeniser of the token-based formats (CoNLL BIO and spaCy), and span alignment.

Tokeniser (documented in every dataset card that uses it): a token is either a maximal run of
letters, digits, underscores, combining marks and zero-width (non-)joiners (so a Persian word
written with ZWNJ stays one token), or a single grapheme cluster of anything else that is not
whitespace (so ``’``, ``.``, an emoji, a flag such as 🇦🇫 or a ZWJ emoji sequence are one token
each). An apostrophe (``'`` or ``’``) right after a word and followed by letters starts a
token of its own that runs to the end of the word, as spaCy splits clitics: "Afghanistan’s" is
"Afghanistan" + "’s", "don't" is "don" + "'t", so a span ending at "Afghanistan" falls on a
token edge in every alignment mode. A quote mark that opens or closes a word stays a token of
its own. Whitespace separates tokens and belongs to none. Offsets are code points.

A span edge that falls inside a token is handled by the export's ``alignment`` option:
``split`` cuts the token there (the span keeps its exact characters), ``strict`` leaves the
span out, ``expand``/``contract`` move it to the enclosing/enclosed token edges. A span edge in
whitespace cannot be a token edge, so ``split`` and ``strict`` leave such a span out. The
caller reports every split, move and omission.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

import regex

_WORD = r"[\w\p{M}\u200c\u200d]+"
_TOKEN = regex.compile(rf"{_WORD}|(?<=[\w\p{{M}}])['’]{_WORD}|(?!\s)\X")

TokenOffsets = list[tuple[int, int]]


def tokenize(text: str) -> TokenOffsets:
    """``(start, end)`` code-point offsets of the tokens of ``text``, in order."""
    return [match.span() for match in _TOKEN.finditer(text)]


def split_at(tokens: TokenOffsets, edges: Iterable[int]) -> tuple[TokenOffsets, list[int]]:
    """Cut tokens at every edge strictly inside one; return the tokens and the edges cut."""
    starts = [start for start, _end in tokens]
    cuts: dict[int, list[int]] = {}
    for edge in set(edges):
        index = bisect_right(starts, edge) - 1
        if index >= 0 and tokens[index][0] < edge < tokens[index][1]:
            cuts.setdefault(index, []).append(edge)
    if not cuts:
        return tokens, []
    result: TokenOffsets = []
    for index, (start, end) in enumerate(tokens):
        points = [start, *sorted(cuts.get(index, [])), end]
        result.extend(itertools.pairwise(points))
    return result, sorted(edge for edges_in in cuts.values() for edge in edges_in)


class TokenIndex:
    """Tokens with their edges indexed, to align many spans against them."""

    def __init__(self, tokens: TokenOffsets):
        self.tokens = tokens
        self.starts = [start for start, _end in tokens]
        self.ends = [end for _start, end in tokens]

    def align(self, start: int, end: int, mode: str) -> tuple[int, int] | None:
        """The token index range ``[first, last)`` that stands for ``[start, end)``, or None.

        ``strict`` and ``split`` need both edges on token edges; ``expand`` takes every token
        the span touches, ``contract`` every token inside it.
        """
        starts, ends = self.starts, self.ends
        if mode in ("strict", "split"):
            first = bisect_left(starts, start)
            last = bisect_left(ends, end)
            on_edges = first < len(starts) and last < len(ends) and first <= last
            if on_edges and starts[first] == start and ends[last] == end:
                return first, last + 1
            return None
        if mode == "expand":
            first = bisect_right(ends, start)  # the first token ending after start
            last = bisect_left(starts, end)  # past the last token starting before end
        elif mode == "contract":
            first = bisect_left(starts, start)
            last = bisect_right(ends, end)
        else:
            raise ValueError(f"unknown alignment mode {mode!r}")
        return (first, last) if first < last else None


def document_tokens(text: str, edges: Iterable[int], mode: str) -> tuple[TokenIndex, list[int]]:
    """The tokens of a document for an alignment mode, and the span edges that cut tokens.

    ``edges`` are the starts and ends of every exported span of the document, from every
    layer, so that each layer's file of a token-based format has the same tokens.
    """
    tokens = tokenize(text)
    cuts: list[int] = []
    if mode == "split":
        tokens, cuts = split_at(tokens, edges)
    return TokenIndex(tokens), cuts
