"""The API tests' world: the cast's project with two documents assigned to alice and bob,
and clients that sign in the way scripts do (token) or the way the page does (session)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from rest_framework.test import APIClient

from annotations.models import Document, Layer
from annotations.services.assignments import assign_documents
from annotations.services.tokens import create_token
from tests.factories import DocumentFactory

# An emoji (1 code point, 2 UTF-16 units), a flag (2 code points) and Persian text.
EMOJI_TEXT = "Saleh 😀 said 🇦🇫 کتاب خوب است, he stays."


@dataclass
class World:
    cast: object
    document: Document  # seed 000: Persian text and curly quotes
    emoji: Document
    alice_layer: Layer
    bob_layer: Layer

    @property
    def project(self):
        return self.cast.project


@pytest.fixture
def world(cast, seed_text) -> World:
    document = DocumentFactory(project=cast.project, external_id="000", text=seed_text)
    emoji = DocumentFactory(project=cast.project, external_id="emoji", text=EMOJI_TEXT)
    assign_documents(project=cast.project, actor=cast.manager)  # k=2: alice and bob
    return World(
        cast=cast,
        document=document,
        emoji=emoji,
        alice_layer=Layer.objects.get(document=document, annotator=cast.alice),
        bob_layer=Layer.objects.get(document=document, annotator=cast.bob),
    )


@pytest.fixture
def api() -> Callable[[object | None], APIClient]:
    """A client signed in with the user's API token (anonymous for None)."""

    def client_for(user: object | None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, key = create_token(user=user, name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return client_for
