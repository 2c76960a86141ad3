// Offsets. The API counts Unicode code points (Python's text[start:end]); the DOM counts
// UTF-16 code units, where a character beyond U+FFFF (an emoji, half a flag) takes two.
// This module is the only place that converts between the two.

function countBelow(sorted, value) {
  // How many items of the ascending array `sorted` are smaller than `value`.
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function isHigh(unit) {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLow(unit) {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/**
 * Converts offsets of one text both ways in O(log n), after one O(n) pass.
 * Only the characters that take two UTF-16 units are remembered, so a text
 * without any (most news) costs nothing but the pass.
 */
export class OffsetMap {
  constructor(text) {
    const pairs16 = [];
    for (let i = 0; i + 1 < text.length; i++) {
      if (isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1))) {
        pairs16.push(i);
        i++;
      }
    }
    // Where each surrogate pair starts, in UTF-16 units and in code points.
    this.pairs16 = pairs16;
    this.pairsCp = pairs16.map((unit, index) => unit - index);
    this.length16 = text.length;
    this.lengthCp = text.length - pairs16.length;
  }

  /** Code-point offset of a UTF-16 offset; one inside a pair snaps to the pair's start. */
  toCodePoint(u16) {
    return u16 - countBelow(this.pairs16, u16);
  }

  /** UTF-16 offset of a code-point offset. */
  toUtf16(cp) {
    return cp + countBelow(this.pairsCp, cp);
  }
}

/**
 * UTF-16 offset of the DOM point (node, offset) in the text of `root`.
 * An element carrying `data-offset` (its own UTF-16 start in root's text) cuts the count
 * short, so a point costs the length of its paragraph, not of the document.
 */
export function textOffset(root, node, offset) {
  let anchor = node.nodeType === Node.ELEMENT_NODE ? node : node.parentNode;
  while (anchor && anchor !== root && anchor.dataset?.offset === undefined) {
    anchor = anchor.parentNode;
  }
  if (!anchor) return null;
  const range = document.createRange();
  range.setStart(anchor, 0);
  range.setEnd(node, offset);
  const base = anchor === root ? 0 : Number(anchor.dataset.offset);
  return base + range.toString().length;
}

/** The DOM point (text node, offset) at UTF-16 offset `u16` of root's text. */
export function domPoint(root, u16) {
  let scope = root;
  const blocks = root.children;
  if (blocks.length && blocks[0].dataset.offset !== undefined) {
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (Number(blocks[mid].dataset.offset) <= u16) lo = mid;
      else hi = mid - 1;
    }
    scope = blocks[lo];
  }
  let left = u16 - (scope === root ? 0 : Number(scope.dataset.offset));
  const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
  let last = null;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (left <= node.data.length) return { node, offset: left };
    left -= node.data.length;
    last = node;
  }
  return last ? { node: last, offset: last.data.length } : { node: scope, offset: 0 };
}

const segmenters = {};

function segmenter(granularity) {
  segmenters[granularity] ??= new Intl.Segmenter(undefined, { granularity });
  return segmenters[granularity];
}

/**
 * The UTF-16 offset one grapheme (or one word) before or after `u16` in `text`, so that
 * a keyboard move never splits an emoji, a flag or a letter from its accent.
 * `direction` is +1 or -1; the move stays inside the line (graphemes never cross "\n").
 */
export function step(text, u16, direction, granularity = "grapheme") {
  const lineStart = text.lastIndexOf("\n", u16 - 1) + 1;
  const newline = text.indexOf("\n", u16);
  const lineEnd = newline === -1 ? text.length : newline + 1;
  if (direction > 0 && u16 >= lineEnd) return Math.min(u16 + 1, text.length);
  if (direction < 0 && u16 <= lineStart) return Math.max(u16 - 1, 0);
  let previous = lineStart;
  for (const piece of segmenter(granularity).segment(text.slice(lineStart, lineEnd))) {
    const start = lineStart + piece.index;
    const end = start + piece.segment.length;
    const counts = granularity === "grapheme" || piece.isWordLike;
    if (direction > 0 && counts && end > u16) return end;
    if (direction < 0 && start >= u16) return previous;
    if (counts) previous = start;
  }
  return direction > 0 ? lineEnd : previous;
}

function wordAt(text, u16) {
  const lineStart = text.lastIndexOf("\n", u16 - 1) + 1;
  const newline = text.indexOf("\n", u16);
  const lineEnd = newline === -1 ? text.length : newline;
  const piece = segmenter("word").segment(text.slice(lineStart, lineEnd)).containing(u16 - lineStart);
  if (!piece?.isWordLike) return null;
  return { start: lineStart + piece.index, end: lineStart + piece.index + piece.segment.length };
}

/**
 * [s16, e16) widened to the whole words it touches, with the spaces at its ends left
 * out: "snap to words" on the annotation page. Punctuation at an end stays as selected.
 */
export function snapToWords(text, s16, e16) {
  while (s16 < e16 && /\s/.test(text[s16])) s16++;
  while (e16 > s16 && /\s/.test(text[e16 - 1])) e16--;
  if (e16 <= s16) return { s16, e16 };
  return { s16: wordAt(text, s16)?.start ?? s16, e16: wordAt(text, e16 - 1)?.end ?? e16 };
}
