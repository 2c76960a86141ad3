"""spaCy ``DocBin`` files (``.spacy``) for training, one ``Doc`` per document.

Every exported layer is a span group, ``doc.spans["gold"]`` or
``doc.spans["annotators/<name>"]``, not ``doc.ents``: entities cannot overlap, while a source
span often sits inside a claim. Span attributes, relations, the document id and meta travel in
``doc.user_data`` (the DocBin stores it)::

    doc.user_data["id"], doc.user_data["meta"]
    doc.user_data["attrs"][key]      # one dict per span of doc.spans[key], in order
    doc.user_data["stances"][key]    # the stance of each span of doc.spans[key] ("": none),
                                     # for the layers with one; span.kb_id_ is its entry
    doc.user_data["relations"][key]  # [type, head index, tail index] into doc.spans[key]
    doc.user_data["document_labels"][key]  # {document label: [values]}
    doc.user_data["gold_state"]      # "in_progress" or "final"; absent without gold

Only a document with a gold layer has ``doc.spans["gold"]`` (empty when it was adjudicated
with nothing to mark); one nobody adjudicated has no gold span group and no ``doc.cats``.

Document-level labels of the gold layer also fill ``doc.cats``, spaCy's text categories:
one category ``label=value`` per allowed value of each document label gold gave a value,
1.0 for the values chosen and 0.0 for the others (a label gold left unset has no
categories). Only gold: ``doc.cats`` holds one set of categories, and training takes the
adjudicated one.

Tokens come from ``tokens.py`` (no language model is needed), words are built so that
``doc.text`` is the document text exactly, and each span is placed with
``Doc.char_span(start, end, alignment_mode=...)`` on code-point offsets. The export's
``alignment`` option picks the mode (``split`` cuts tokens at span edges first, then aligns
strictly); a span that moves or cannot be placed is reported, and relations to a span left out
are dropped and reported too.

The corpus is written in shards, each with a fresh vocabulary, so memory stays flat however
large the corpus: shard ``k`` of a split holds that split's documents among the corpus
positions ``[k * shard_size, (k + 1) * shard_size)`` (every exported document counts, in
document order), written to ``spacy/<split>-<k:05d>.spacy`` (``all`` when the export is not
split). A split without a document in a block has no file for it, so a split's shard numbers
can skip. Since a shard depends only on the positions of its documents, chunks of whole
blocks write the same shards as one process (``chunked``). ``DocBin().from_disk`` reads each
shard; spaCy's training config takes the folder.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy
import srsly
from spacy.attrs import DEP, ENT_ID, ENT_KB_ID, ENT_TYPE, LEMMA, MORPH, NORM, ORTH, SPACY, TAG
from spacy.tokens import Doc, DocBin, Span
from spacy.vocab import Vocab

from annotations.exporters import DESCRIPTIONS
from annotations.exporters.base import (
    ArchiveWriter,
    ExportOptions,
    LabelInfo,
    Layer,
    layers_of,
    parts,
)
from annotations.exporters.tokens import TokenOffsets, document_tokens
from annotations.interchange import DocumentRecord


def words_and_spaces(text: str, tokens: TokenOffsets) -> tuple[list[str], list[bool]]:
    """spaCy words covering ``text`` exactly: runs of whitespace other than one trailing space
    become whitespace tokens, as spaCy's own tokenizer makes them."""
    words: list[str] = []
    spaces: list[bool] = []
    position = 0
    for start, end in tokens:
        if start > position:
            gap = text[position:start]
            if words and gap[0] == " ":
                spaces[-1] = True
                gap = gap[1:]
            if gap:
                words.append(gap)
                spaces.append(False)
        words.append(text[start:end])
        spaces.append(False)
        position = end
    if position < len(text):
        gap = text[position:]
        if words and gap[0] == " ":
            spaces[-1] = True
            gap = gap[1:]
        if gap:
            words.append(gap)
            spaces.append(False)
    return words, spaces


def categories(
    document_labels: Mapping[str, Sequence[str]], choices: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """``doc.cats`` for a layer's document labels: ``label=value`` -> 1.0 or 0.0."""
    cats: dict[str, float] = {}
    for name in sorted(document_labels):
        given = document_labels[name]
        for value in [
            *choices.get(name, ()),
            *(v for v in given if v not in choices.get(name, ())),
        ]:
            cats[f"{name}={value}"] = 1.0 if value in given else 0.0
    return cats


class Shard(DocBin):
    """A ``DocBin`` with user data whose ``add`` stores, for the documents this exporter makes,
    what ``DocBin.add`` stores, to the byte, for a fraction of its cost.

    ``DocBin.add`` packs the user data and every span group with a new msgpack packer, and
    srsly looks its encoders up among every installed package's entry points for each one
    (most of the export's time); it also reads nine strings off a ``Token`` object per token.
    Here one packer serves the shard, and the strings come from the hashes the token array
    holds anyway. The tests compare both ways' bytes.
    """

    # What DocBin.add keeps the string of, per token: text, tag, lemma, norm, morph, dep
    # and the entity's type, knowledge-base id and id.
    TOKEN_STRINGS = (ORTH, TAG, LEMMA, NORM, MORPH, DEP, ENT_TYPE, ENT_KB_ID, ENT_ID)

    def __init__(self) -> None:
        super().__init__(store_user_data=True)
        # Made as srsly.msgpack_dumps makes one, once.
        self._packer = srsly.msgpack.Packer(use_bin_type=True)
        # DocBin's attrs are attribute ids, whatever its annotation says.
        self._columns: list[int | str] = list(self.attrs)
        self._string_columns = [self._columns.index(attr) for attr in self.TOKEN_STRINGS]

    def add(self, doc: Doc) -> None:
        tokens = doc.to_array(self._columns)
        self.tokens.append(tokens)
        self.spaces.append(numpy.asarray(doc.to_array(SPACY).reshape((-1, 1)), dtype=bool))
        self.flags.append({"has_unknown_spaces": doc.has_unknown_spaces})
        self.cats.append(doc.cats)
        self.user_data.append(self._packer.pack(doc.user_data))
        self.span_groups.append(self._pack_span_groups(doc))
        strings = doc.vocab.strings
        hashes = numpy.unique(tokens[:, self._string_columns]).tolist()
        self.strings.update(strings[key] for key in hashes)

    def _pack_span_groups(self, doc: Doc) -> bytes:
        """``doc.spans.to_bytes()``, with this shard's packer; their strings to the shard."""
        if not doc.spans:
            return bytes(self._packer.pack([]))
        strings = doc.vocab.strings
        groups: dict[bytes, list[str]] = {}
        for key, group in doc.spans.items():
            packed = []
            for span in group:
                packed.append(
                    struct.pack(
                        ">QQQllll",
                        span.id,
                        span.kb_id,
                        span.label,
                        span.start,
                        span.end,
                        span.start_char,
                        span.end_char,
                    )
                )
                self.strings.add(strings[span.label])
                for key_hash in (span.kb_id, span.id):
                    if key_hash in strings:
                        self.strings.add(strings[key_hash])
            message = {"name": group.name, "attrs": group.attrs, "spans": packed}
            groups.setdefault(self._packer.pack(message), []).append(key)
        return bytes(self._packer.pack(groups))


class SpacyExporter:
    name = "spacy"
    extension = ".spacy"
    media_type = "application/octet-stream"
    description = DESCRIPTIONS["spacy"]

    def __init__(self) -> None:
        self._start = 0

    def start_at(self, position: int) -> None:
        self._start = position

    def write(
        self,
        records: Iterable[DocumentRecord],
        archive: ArchiveWriter,
        options: ExportOptions,
        schema: Sequence[LabelInfo],
    ) -> None:
        self._choices = {label.name: label.choices for label in schema if label.kind == "document"}
        block = self._start // options.shard_size
        shards: dict[str, Shard] = {}  # the block's shard of each split met in it
        vocabs: dict[str, Vocab] = {}
        for position, (split, record) in enumerate(parts(records, options), start=self._start):
            if position // options.shard_size != block:
                self._flush(archive, shards, block)
                block = position // options.shard_size
                shards, vocabs = {}, {}
            part = split or "all"
            if part not in shards:
                shards[part], vocabs[part] = Shard(), Vocab()
            shards[part].add(self._doc(record, vocabs[part], archive, options))
        self._flush(archive, shards, block)

    def _flush(self, archive: ArchiveWriter, shards: Mapping[str, Shard], block: int) -> None:
        for part, shard in sorted(shards.items()):
            # DocBin bytes are already compressed: store them as they are.
            archive.write_bytes(f"spacy/{part}-{block:05d}.spacy", shard.to_bytes(), compress=False)

    def _doc(
        self, record: DocumentRecord, vocab: Vocab, archive: ArchiveWriter, options: ExportOptions
    ) -> Doc:
        layers = layers_of(record, options)
        edges = [edge for layer in layers for s in layer.spans for edge in (s.start, s.end)]
        index, cuts = document_tokens(record.text, edges, options.alignment)
        for cut in cuts:
            archive.problem("token_split", record.id, "all", offset=cut)
        words, spaces = words_and_spaces(record.text, index.tokens)
        doc = Doc(vocab, words=words, spaces=spaces)
        mode = "strict" if options.alignment == "split" else options.alignment
        attrs: dict[str, list[dict[str, Any]]] = {}
        relations: dict[str, list[list[Any]]] = {}
        stances: dict[str, list[str]] = {}
        for layer in layers:
            attrs[layer.key], relations[layer.key], stances[layer.key] = self._add_layer(
                doc, layer, mode, record.id, archive
            )
        doc.user_data["id"] = record.id
        doc.user_data["meta"] = record.meta
        doc.user_data["attrs"] = attrs
        doc.user_data["relations"] = relations
        # Only the layers with a stance: most projects link nothing.
        doc.user_data["stances"] = {key: values for key, values in stances.items() if any(values)}
        doc.user_data["document_labels"] = {
            layer.key: dict(layer.document_labels) for layer in layers if layer.document_labels
        }
        gold = next((layer for layer in layers if layer.annotator is None), None)
        if gold is not None:
            doc.user_data["gold_state"] = record.gold_state
            doc.cats = categories(gold.document_labels, self._choices)
        return doc

    def _add_layer(
        self, doc: Doc, layer: Layer, mode: str, doc_id: str, archive: ArchiveWriter
    ) -> tuple[list[dict[str, Any]], list[list[Any]], list[str]]:
        spans: list[Span] = []
        attrs = []
        stances = []
        new_index: dict[int, int] = {}
        for old, span in enumerate(layer.spans):
            where = dict(start=span.start, end=span.end, label=span.label)
            # A span's catalogue entry is its knowledge-base id, as spaCy's entity linker
            # reads it; the stance toward it travels in user_data.
            placed = doc.char_span(
                span.start, span.end, label=span.label, kb_id=span.entry or "", alignment_mode=mode
            )
            if placed is None:
                archive.problem("span_not_on_token_edges", doc_id, layer.name, **where)
                continue
            if (placed.start_char, placed.end_char) != (span.start, span.end):
                moved_to = [placed.start_char, placed.end_char]
                archive.problem("span_moved", doc_id, layer.name, **where, moved_to=moved_to)
            new_index[old] = len(spans)
            spans.append(placed)
            attrs.append(dict(span.attrs))
            stances.append(span.stance)
        doc.spans[layer.key] = spans
        relations = []
        for relation in layer.relations:
            if relation.head in new_index and relation.tail in new_index:
                relations.append(
                    [relation.type, new_index[relation.head], new_index[relation.tail]]
                )
            else:
                archive.problem(
                    "relation_left_out",
                    doc_id,
                    layer.name,
                    type=relation.type,
                    reason="one of its spans could not be placed",
                )
        return attrs, relations, stances
