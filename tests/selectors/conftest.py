"""The page tests' corpus: the selectors read what those pages show."""

from __future__ import annotations

from tests.views.conftest import corpus

__all__ = ["corpus"]
