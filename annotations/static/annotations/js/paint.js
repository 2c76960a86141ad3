// Painting spans over the text. Between two span boundaries nothing changes, so the text
// is cut at every boundary into segments, and each segment is painted once with one
// underline per covering span (stacked in lanes) and the fill of the innermost span.
// All offsets here are UTF-16 units (s16/e16), the DOM's unit.

const LANE_PX = 5; // the height of a lane: a bar and the space under it
const BAR_PX = 3;
const GAP_PX = 2; // cut out of a bar where its span starts or ends

/** [start, end) of each line, cut after every "\n" (the server cuts the same way). */
export function paragraphRanges(text) {
  const ranges = [];
  for (let start = 0; start < text.length; ) {
    const newline = text.indexOf("\n", start);
    const end = newline === -1 ? text.length : newline + 1;
    ranges.push({ start, end });
    start = end;
  }
  return ranges;
}

/**
 * Give each span the lowest lane free at its start (outer spans first), so a span's
 * underline keeps one height all along and overlapping spans never share one.
 */
export function assignLanes(spans) {
  const order = [...spans].sort((a, b) => a.s16 - b.s16 || b.e16 - a.e16 || a.key - b.key);
  const laneEnds = [];
  for (const span of order) {
    let lane = laneEnds.findIndex((end) => end <= span.s16);
    if (lane === -1) lane = laneEnds.length;
    laneEnds[lane] = span.e16;
    span.lane = lane;
  }
}

/** Segments of [from, to): {start, end, spans} where spans cover the whole segment. */
export function segments(spans, from, to) {
  const starts = new Map();
  const ends = new Map();
  const points = new Set([from, to]);
  for (const span of spans) {
    const a = Math.max(span.s16, from);
    const b = Math.min(span.e16, to);
    if (a >= b) continue;
    points.add(a);
    points.add(b);
    if (!starts.has(a)) starts.set(a, []);
    starts.get(a).push(span);
    if (!ends.has(b)) ends.set(b, []);
    ends.get(b).push(span);
  }
  const sorted = [...points].sort((x, y) => x - y);
  const result = [];
  let active = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const at = sorted[i];
    const closing = ends.get(at);
    if (closing) active = active.filter((span) => !closing.includes(span));
    const opening = starts.get(at);
    if (opening) active = active.concat(opening);
    result.push({ start: at, end: sorted[i + 1], spans: active });
  }
  return result;
}

function rgba(hex, alpha) {
  const value = parseInt(hex.slice(1), 16);
  return `rgba(${value >> 16}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

const styleCache = new Map();

/**
 * One bar per covering span, stacked by lane under the text, and the fill of the
 * innermost span. A bar is cut short by a gap where its span starts or ends, so two
 * spans side by side, or nested ones of one label, read as separate bars.
 */
function segmentStyle(piece, colours) {
  const byLane = [...piece.spans].sort((a, b) => a.lane - b.lane);
  const innermost = piece.spans.reduce((a, b) => (b.e16 - b.s16 < a.e16 - a.s16 ? b : a));
  const ends = (span) => (span.s16 === piece.start ? 1 : 0) + (span.e16 === piece.end ? 2 : 0);
  const key = `${byLane.map((s) => `${s.lane}${s.label}${ends(s)}`).join()}|${innermost.label}`;
  let style = styleCache.get(key);
  if (style === undefined) {
    const depth = byLane[byLane.length - 1].lane + 1;
    const lines = byLane.map((span) => {
      const colour = colours.get(span.label) ?? "#888888";
      const cut = ends(span);
      const left = cut & 1 ? GAP_PX : 0;
      const width = `calc(100% - ${left + (cut & 2 ? GAP_PX : 0)}px)`;
      return `linear-gradient(${colour}, ${colour}) left ${left}px bottom ${span.lane * LANE_PX}px / ${width} ${BAR_PX}px no-repeat`;
    });
    lines.push(rgba(colours.get(innermost.label) ?? "#888888", 0.2));
    style = `background: ${lines.join(", ")}; padding-bottom: ${depth * LANE_PX}px`;
    styleCache.set(key, style);
  }
  return style;
}

/**
 * Rebuild one block's children: plain text nodes where no span is, segments elsewhere.
 * The segment where spans start carries their label names (`data-tag`, shown as a small
 * tag above the text by the style sheet); every segment names its labels on hover.
 */
export function paintBlock(block, text, range, spans, colours) {
  const fragment = document.createDocumentFragment();
  for (const piece of segments(spans, range.start, range.end)) {
    const content = text.slice(piece.start, piece.end);
    if (!piece.spans.length) {
      fragment.append(content);
      continue;
    }
    const element = document.createElement("span");
    element.className = "seg";
    const byLane = [...piece.spans].sort((a, b) => a.lane - b.lane);
    const names = [...new Set(byLane.map((span) => span.label))];
    element.dataset.k = byLane.map((span) => span.key).join(" ");
    element.dataset.l = names.join(" ");
    const starting = byLane.filter((span) => span.s16 === piece.start);
    if (starting.length) element.dataset.tag = [...new Set(starting.map((span) => span.label))].join(" · ");
    element.title = names.join(", ");
    element.style.cssText = segmentStyle(piece, colours);
    element.textContent = content;
    fragment.append(element);
  }
  block.replaceChildren(fragment);
}
