"""Guidelines are Markdown: rendered on the server, then cleaned of anything unsafe."""

from __future__ import annotations

import markdown
import nh3


def render_guidelines(text: str) -> str:
    """The guidelines as safe HTML. Markdown lets raw HTML through; nh3 keeps only
    harmless tags and attributes."""
    return nh3.clean(markdown.markdown(text, extensions=["extra", "sane_lists"]))
