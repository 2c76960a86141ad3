"""Documents assigned to the cast's two annotators, for the page tests."""

from __future__ import annotations

import pytest

from annotations.models import Document
from annotations.services.assignments import assign_documents
from tests.factories import DocumentFactory

PERSIAN = "Saleh tweeted: «اینجا اسم مستعار همه ی ما مقاومت است.»\nTASS said he fled 😀🇦🇫."


@pytest.fixture
def corpus(cast) -> list[Document]:
    """Three documents, each assigned to alice and bob (k = 2)."""
    documents = [
        DocumentFactory(project=cast.project, external_id="001", text=PERSIAN),
        DocumentFactory(project=cast.project, external_id="002"),
        DocumentFactory(
            project=cast.project,
            external_id="003",
            text='<script>alert("x")</script> and <img src=x onerror="alert(1)"> end.',
        ),
    ]
    assign_documents(project=cast.project)
    return documents
