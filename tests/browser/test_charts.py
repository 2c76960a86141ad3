"""The SVG charts draw every label inside the picture (nothing clipped at its edges)."""

from __future__ import annotations

import pytest

from annotations.views.charts import heatmap

pytestmark = pytest.mark.browser

OUTSIDE = """() => {
  const box = document.querySelector("svg").getBoundingClientRect();
  return [...document.querySelectorAll("svg text")]
    .map((text) => [text.textContent, text.getBoundingClientRect()])
    .filter(([, r]) => r.left < box.left || r.right > box.right || r.top < box.top
                      || r.bottom > box.bottom)
    .map(([name]) => name);
}"""


@pytest.mark.parametrize(
    "annotators",
    [
        ["annotator1", "annotator2", "annotator3"],
        ["a", "b"],
        ["alice", "an-annotator-with-a-rather-long-username"],
    ],
)
def test_every_heatmap_label_lies_inside_the_svg(page, annotators):
    values = {(a, b): 0.5 for a in annotators for b in annotators if a < b}
    page.set_content(f"<body style='margin:0'>{heatmap(annotators, values, 'F1')}</body>")

    assert page.evaluate(OUTSIDE) == []
