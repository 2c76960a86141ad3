// The curation view of the review page: under each paragraph of the gold text, one
// read-only row per counted annotator, that paragraph with the annotator's spans painted
// (paint.js, as the editor paints gold) and coloured by how far the annotators agree on
// each. A click on a span, or Enter on its mark, takes it into gold; a link listed under a
// row does the same for the link. What that means (decisions, dialogs, gold writes) is
// review.js's: it passes `onSpan` and `onLink`, and calls `render` when gold or the
// decisions change.
//
// Layout: #curation is a one-column grid; the gold text (#doc-text, the editor's) and the
// rows (#curation-rows) both span all its rows as subgrids, paragraph i in row 2i+1 and
// its annotators in row 2i+2. The editor's text keeps exactly the document's characters.

import { byId, h, shorten } from "./dom.js";
import { OffsetMap } from "./offsets.js";
import { assignLanes, paintBlock, paragraphRanges } from "./paint.js";

function levelText(level, votes, voters) {
  if (level === "all") return `all ${voters} agree`;
  if (level === "one") return `only one of ${voters} marked it`;
  if (level === "some") return `${votes} of ${voters} agree`;
  return "not counted";
}

/** UTF-16 offset where each child of `element` ends: text nodes and painted segments. */
function childEnds(element, start) {
  const ends = new Map();
  let at = start;
  for (const child of element.childNodes) {
    at += child.textContent.length;
    ends.set(at, child);
  }
  return ends;
}

export function createCuration({ text, labels, data, onSpan, onLink }) {
  const container = byId("curation");
  const gold = byId("doc-text");
  const rowsRoot = byId("curation-rows");
  const offsets = new OffsetMap(text);
  const colours = new Map(labels.map((label) => [label.name, label.colour]));
  const blocks = paragraphRanges(text);
  const { voters } = data;

  // The paragraph holding UTF-16 offset `u16`.
  const blockAt = (u16) => blocks.findLastIndex((block) => block.start <= u16);

  function describeSpan(name, span) {
    return `${name}: ${span.label} “${shorten(span.quote, 80)}”, ${levelText(span.agreement, span.votes, voters)}`;
  }

  function describeLink(name, link) {
    return (
      `${name}: ${link.head.label} “${shorten(link.head.quote, 40)}” ${link.type} ` +
      `${link.tail.label} “${shorten(link.tail.quote, 40)}”, ${levelText(link.agreement, link.votes, voters)}`
    );
  }

  // Each annotator's spans in the shape paint.js paints: `key` is the span's index (the
  // painted segments name it in data-k), `candidate` the candidate key review.js knows.
  const annotators = data.annotators.map((annotator) => {
    const spans = annotator.spans.map((span, index) => {
      const s16 = offsets.toUtf16(span.start);
      const e16 = offsets.toUtf16(span.end);
      const painted = { ...span, candidate: span.key, key: index, s16, e16, lane: 0, quote: text.slice(s16, e16), elements: [] };
      painted.description = describeSpan(annotator.name, painted);
      return painted;
    });
    assignLanes(spans);
    const byCandidate = new Map(spans.map((span) => [span.candidate, span]));
    const links = annotator.links.map((raw) => {
      const link = { ...raw, head: byCandidate.get(raw.head), tail: byCandidate.get(raw.tail), element: null };
      link.description = describeLink(annotator.name, link);
      return link;
    });
    return { name: annotator.name, spans, links };
  });

  function spanMark(span) {
    const mark = h(
      "button",
      { type: "button", class: `cur-mark agree-${span.agreement}`, dataset: { span: span.key } },
      h("span", { class: "cur-label" }, span.label),
      h("span", { class: "cur-votes" }, `${span.votes}/${voters}`),
    );
    mark.style.setProperty("--c", colours.get(span.label) ?? "#888888");
    span.elements.push(mark);
    return mark;
  }

  function linkItem(link) {
    const button = h(
      "button",
      { type: "button", class: `cur-link agree-${link.agreement}`, dataset: { link: link.key } },
      h("span", { class: "cur-link-end" }, `${link.head.label} “${shorten(link.head.quote, 40)}”`),
      h("span", { class: "cur-link-type" }, ` ${link.type} → `),
      h("span", { class: "cur-link-end" }, `${link.tail.label} “${shorten(link.tail.quote, 40)}”`),
      h("span", { class: "cur-votes" }, `${link.votes}/${voters}`),
    );
    link.element = button;
    return h("li", {}, button);
  }

  /** One annotator's row under paragraph `index`: the paragraph painted with their spans. */
  function row(annotator, index, spansHere) {
    const block = blocks[index];
    const body = h("div", { class: "row-text", dir: "auto" });
    paintBlock(body, text, block, spansHere, colours);
    for (const segment of body.querySelectorAll(".seg")) {
      // The innermost span is the one a click takes, and the one whose state shows.
      const inner = segment.dataset.k
        .split(" ")
        .map((key) => annotator.spans[Number(key)])
        .reduce((a, b) => (b.e16 - b.s16 < a.e16 - a.s16 ? b : a));
      segment.dataset.span = inner.key;
      segment.classList.add(`agree-${inner.agreement}`);
      inner.elements.push(segment);
    }
    // Each span's mark right after its last character: the keyboard's way in.
    const ends = childEnds(body, block.start);
    for (const span of spansHere) {
      if (blockAt(span.e16 - 1) === index) ends.get(span.e16)?.after(spanMark(span));
    }
    const links = annotator.links.filter((link) => blockAt(link.head.s16) === index);
    return h(
      "div",
      { class: "curation-row", dataset: { annotator: annotator.name } },
      h("span", { class: "who", title: `${annotator.name}'s layer` }, annotator.name),
      body,
      links.length ? h("ul", { class: "row-links", "aria-label": `${annotator.name}'s links` }, links.map(linkItem)) : null,
    );
  }

  function build() {
    const byBlock = blocks.map(() => annotators.map(() => []));
    annotators.forEach((annotator, which) => {
      for (const span of annotator.spans) {
        const last = blockAt(Math.max(span.s16, span.e16 - 1));
        for (let index = blockAt(span.s16); index <= last; index++) byBlock[index][which].push(span);
      }
    });
    const groups = [];
    byBlock.forEach((perAnnotator, index) => {
      // Paragraphs nobody marked anything in get no rows: nothing to curate there.
      if (perAnnotator.every((spans) => !spans.length)) return;
      const group = h(
        "div",
        { class: "curation-group", role: "group", "aria-label": `Annotators on paragraph ${index + 1}`, dataset: { paragraph: index } },
        annotators.map((annotator, which) => row(annotator, index, perAnnotator[which])),
      );
      group.style.gridRow = String(2 * index + 2);
      groups.push(group);
    });
    rowsRoot.replaceChildren(...groups);
    const paragraphs = gold.querySelectorAll(":scope > .para");
    paragraphs.forEach((paragraph, index) => {
      paragraph.style.gridRow = String(2 * index + 1);
    });
    container.style.setProperty("--rows", String(2 * blocks.length));
  }

  function spanAt(target) {
    const element = target.closest(".cur-mark, .seg");
    const annotator = annotators.find((item) => item.name === target.closest(".curation-row")?.dataset.annotator);
    if (!element || !annotator) return null;
    return { annotator, span: annotator.spans[Number(element.dataset.span)] };
  }

  function onClick(event) {
    const link = event.target.closest(".cur-link");
    if (link) {
      onLink(link.dataset.link);
      return;
    }
    // The end of a drag over a row (copying its text) takes nothing.
    if (!event.target.closest(".cur-mark") && !getSelection().isCollapsed) return;
    const found = spanAt(event.target);
    if (found) {
      const { attrs, entry, stance } = found.span;
      onSpan(found.span.candidate, { attrs, entry, stance });
    }
  }

  function setShown(name, shown) {
    for (const item of rowsRoot.querySelectorAll(".curation-row")) {
      if (item.dataset.annotator === name) item.hidden = !shown;
    }
  }

  function bindBar() {
    const toggle = byId("curation-switch");
    toggle.addEventListener("click", () => {
      const on = toggle.getAttribute("aria-pressed") !== "true";
      toggle.setAttribute("aria-pressed", String(on));
      container.classList.toggle("on", on);
      rowsRoot.hidden = !on;
      for (const button of document.querySelectorAll("[data-show-annotator]")) button.disabled = !on;
    });
    for (const button of document.querySelectorAll("[data-show-annotator]")) {
      button.addEventListener("click", () => {
        const shown = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", String(shown));
        setShown(button.dataset.showAnnotator, shown);
      });
    }
  }

  /** Mark each span and link in gold, rejected or open. `goldSpans` maps candidate keys
   * to gold's attributes, `goldLinks` holds "type|head|tail" keys. */
  function render({ goldSpans, goldLinks, isRejected }) {
    for (const annotator of annotators) {
      for (const span of annotator.spans) {
        const attrs = goldSpans.get(span.candidate);
        const inGold = attrs !== undefined;
        const rejected = !inGold && isRejected(span.candidate);
        const state = inGold ? "in gold" : rejected ? "rejected" : "open";
        for (const element of span.elements) {
          element.classList.toggle("in-gold", inGold);
          element.classList.toggle("rejected", rejected);
          element.title = `${span.description}; ${state}. Click to take it into gold.`;
        }
        const mark = span.elements.find((element) => element.classList.contains("cur-mark"));
        mark?.setAttribute("aria-label", `${span.description}; ${state}. Take it into gold`);
      }
      for (const link of annotator.links) {
        const inGold = goldLinks.has(`${link.type}|${link.head.candidate}|${link.tail.candidate}`);
        const rejected = !inGold && isRejected(link.key);
        const state = inGold ? "in gold" : rejected ? "rejected" : "open";
        link.element.classList.toggle("in-gold", inGold);
        link.element.classList.toggle("rejected", rejected);
        link.element.setAttribute("aria-label", `Link of ${link.description}; ${state}. Take it into gold`);
        link.element.title = `${state}: click to take the link into gold`;
      }
    }
  }

  build();
  rowsRoot.addEventListener("click", onClick);
  bindBar();
  container.classList.add("on");
  rowsRoot.hidden = false;
  return { render };
}
