"""Random corpora that the project's importer accepts (labels and attributes of the news
claims preset, attributed_to from a claim to a source), for the tests that need a database."""

from __future__ import annotations

import random

from annotations.interchange import DocumentRecord, Relation, Span

KINDS = ["person", "organisation", "media", "anonymous"]
POLARITIES = ["positive", "negative", "neutral"]
WORDS = [
    *("Saleh", "said", "he", "is", "still", "in", "Panjshir", "while", "TASS"),
    *("reported", "that", "he", "fled", "to", "Tajikistan"),
]


def _span(rng: random.Random, length: int) -> Span:
    label = rng.choice(["claim", "claim", "source", "sentiment"])
    start = rng.randrange(0, length - 1)
    end = min(length, start + rng.randint(1, 40))
    attrs = {}
    if label == "source":
        attrs = {"kind": rng.choice(KINDS)}
    elif label == "sentiment":
        attrs = {"polarity": rng.choice(POLARITIES)}
    return Span(start, end, label, attrs)


def corpus(
    documents: int, annotators: list[str], *, seed: int = 0, spans: int = 6
) -> list[DocumentRecord]:
    """``documents`` records; each annotator keeps most of a shared layer, with noise."""
    rng = random.Random(seed)
    records = []
    for number in range(documents):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))
        truth = [_span(rng, len(text)) for _ in range(rng.randint(0, spans))]
        record = DocumentRecord(id=f"doc-{number:04d}", text=text)
        for name in annotators:
            if rng.random() < 0.1:
                continue  # this annotator did not annotate the document
            mine = []
            for span in truth:
                if rng.random() < 0.15:
                    continue
                if rng.random() < 0.3:
                    end = min(len(text), max(span.start + 1, span.end + rng.randint(-3, 3)))
                    span = Span(span.start, end, span.label, span.attrs)
                mine.append(span)
            if rng.random() < 0.3:
                mine.append(_span(rng, len(text)))
            record.annotations[name] = mine
            claims = [i for i, s in enumerate(mine) if s.label == "claim"]
            sources = [i for i, s in enumerate(mine) if s.label == "source"]
            if claims and sources:
                record.relations[name] = [Relation("attributed_to", claims[0], sources[0])]
        records.append(record)
    return records
