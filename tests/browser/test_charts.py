"""The SVG charts draw every label inside the picture (nothing clipped at its edges)."""

from __future__ import annotations

import pytest

from annotations.views.charts import heatmap, timeline

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


# Text boxes of the timeline's labels that overlap another label.
OVERLAPPING = """() => [...document.querySelectorAll("svg > text")]
  .map((text) => [text.textContent, text.getBoundingClientRect()])
  .filter(([, r], i, all) => all.some(([, o], j) => j !== i && r.left < o.right
      && o.left < r.right && r.top < o.bottom && o.top < r.bottom))
  .map(([name]) => name)"""


@pytest.mark.parametrize(
    "days",
    [
        ["2021-09-03"],
        ["2021-09-03", "2021-09-04", "2021-09-23"],
        [f"2021-{month:02d}-{day:02d}" for month in range(1, 13) for day in (1, 2, 15)],
    ],
)
def test_every_timeline_label_lies_inside_the_svg_and_clear_of_the_others(page, days):
    names = {1: "Saleh fled to Tajikistan", 2: "A proposition with a much longer name " * 2}
    counts = {(lane, day, "asserts"): 2 for lane in names for day in days}
    counts[1, days[-1], "questions"] = 7
    stances = ["asserts", "denies", "reports", "questions"]
    svg = timeline(list(names), names, stances, counts, "Mentions")
    page.set_content(f"<body style='margin:0'>{svg}</body>")

    assert page.evaluate(OUTSIDE) == []
    assert page.evaluate(OVERLAPPING) == []
