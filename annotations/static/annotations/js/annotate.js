// The layer editor: select text, label it by key or click, set attributes, link claims
// to sources, undo and redo. Every edit is painted at once and saved through the layer
// API in order; offsets go to the server as code points (offsets.js converts). Links are
// drawn as arcs over the text (arcs.js).
// A page starts it with `init`, handing over the elements it works in: the annotation
// page (annotate_page.js) for the annotator's own layer, the review page (review.js) for
// the gold layer, which it then drives through `editor` (see the end of this file).

import { ApiError, SaveQueue, request, setCsrfToken } from "./api.js";
import { ArcLayer } from "./arcs.js";
import { linkPicker } from "./catalogue_picker.js";
import { submitWarnings } from "./submitting.js";
import { fill, h, keepChildren, shorten } from "./dom.js";
import { OffsetMap, domPoint, snapToWords, step, textOffset } from "./offsets.js";
import { assignLanes, paintBlock, paragraphRanges } from "./paint.js";

// Set by `init`: the page's data and elements.
let config;
let text;
let labels;
let root;
let ui; // the page's controls and panels, by role (see `init`)
let offsets;
let spanLabels;
let relationLabels;
let labelByName;
let colours;
let hotkeys;
let arcs;
let confirmSubmit = () => Promise.resolve(true);

const state = {
  layerId: null,
  readOnly: false,
  // `made`: {id, ref} of the span or link as last made; see "saving".
  spans: new Map(), // key -> {key, made, label, start, end, s16, e16, attrs, quote, lane}
  relations: new Map(), // key -> {key, made, type, head: span, tail: span}
  selected: null, // key of the selected span
  pending: null, // {s16, e16}: text selected in the document, not labelled yet
  linkFrom: null, // key of the span a link starts from
  candidate: null, // key of the span a keyboard link would go to
  undo: [],
  redo: [],
};
let nextKey = 1;
let blocks = []; // {start, end, element}: one per line of the text
const dirty = new Set(); // indexes of blocks to repaint
let queue = null;
let resize = null; // a keyboard resize in progress: {span, before, timer}
let linksRevision = 0; // bumped whenever the links list would read differently
let linksShown = -1;
let contentRevision = 0; // bumped by every change to the spans or links
let contentShown = 0;
const changeListeners = [];
const loadListeners = [];
let loadedLayer = null; // the last layer body loaded from the server
// What a layer not made yet looks like: empty, open, at the version a new layer starts at.
const UNSTARTED_LAYER = { id: null, version: 1, status: "open", spans: [], relations: [] };
let layerStarting = false; // the POST that makes a layer not made yet is queued

// --- spans and relations --------------------------------------------------------------

function makeSpan({ id = null, label, start, end, attrs = {}, entry = null, stance = "" }, key = nextKey++) {
  const s16 = offsets.toUtf16(start);
  const e16 = offsets.toUtf16(end);
  const made = { id, ref: null };
  return { key, made, label, start, end, s16, e16, attrs: { ...attrs }, entry, stance, quote: text.slice(s16, e16), lane: 0 };
}

function relationsOf(span) {
  return [...state.relations.values()].filter((rel) => rel.head === span || rel.tail === span);
}

function sortedSpans() {
  return [...state.spans.values()].sort((a, b) => a.s16 - b.s16 || a.e16 - b.e16 || a.key - b.key);
}

/** The relation label that links `a` to `b`, in either direction, as {type, head, tail}. */
function linkBetween(a, b) {
  if (a === b) return null;
  const fits = (label, head, tail) =>
    (!label.head_label || label.head_label === head.label) &&
    (!label.tail_label || label.tail_label === tail.label);
  for (const label of relationLabels) {
    if (fits(label, a, b)) return { type: label.name, head: a, tail: b };
  }
  for (const label of relationLabels) {
    if (fits(label, b, a)) return { type: label.name, head: b, tail: a };
  }
  return null;
}

function loadLayer(layer) {
  state.layerId = layer.id;
  state.readOnly = layer.status !== "open";
  state.spans.clear();
  state.relations.clear();
  linksRevision++;
  contentRevision++;
  const spanById = new Map();
  for (const raw of layer.spans) {
    const span = makeSpan(raw);
    state.spans.set(span.key, span);
    spanById.set(span.made.id, span);
  }
  for (const raw of layer.relations) {
    const head = spanById.get(raw.head);
    const tail = spanById.get(raw.tail);
    if (!head || !tail) continue;
    const key = nextKey++;
    state.relations.set(key, { key, made: { id: raw.id, ref: null }, type: raw.type, head, tail });
  }
  blocks.forEach((_, index) => dirty.add(index));
  loadedLayer = layer;
  for (const listener of loadListeners) listener(layer);
  return spanById;
}

// --- painting -------------------------------------------------------------------------

function blockAt(u16) {
  let lo = 0;
  let hi = blocks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (blocks[mid].start <= u16) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function markDirty(s16, e16) {
  const last = blockAt(Math.max(s16, e16 - 1));
  for (let index = blockAt(s16); index <= last; index++) dirty.add(index);
}

function bindBlocks() {
  const ranges = paragraphRanges(text);
  let elements = [...root.children];
  // The server renders the same blocks; should they differ, build them here.
  if (elements.length !== ranges.length || root.textContent !== text) {
    elements = ranges.map((range) => h("p", { class: "para", dir: "auto" }, text.slice(range.start, range.end)));
    root.replaceChildren(...elements);
  }
  blocks = ranges.map((range, index) => {
    elements[index].dataset.offset = range.start;
    return { ...range, element: elements[index] };
  });
}

function repaint() {
  const spans = [...state.spans.values()];
  const lanes = new Map(spans.map((span) => [span.key, span.lane]));
  assignLanes(spans);
  for (const span of spans) {
    if (lanes.get(span.key) !== span.lane) markDirty(span.s16, span.e16);
  }
  if (!dirty.size) return;
  const here = new Map([...dirty].map((index) => [index, []]));
  for (const span of spans) {
    const last = blockAt(Math.max(span.s16, span.e16 - 1));
    for (let index = blockAt(span.s16); index <= last; index++) here.get(index)?.push(span);
  }
  for (const [index, covering] of here) {
    paintBlock(blocks[index].element, text, blocks[index], covering, colours);
  }
  dirty.clear();
  arcs.invalidate();
  restorePendingSelection();
}

function rgba(hex, alpha) {
  const value = parseInt(hex.slice(1), 16);
  return `rgba(${value >> 16}, ${(value >> 8) & 255}, ${value & 255}, ${alpha})`;
}

let marked = []; // [element, class] pairs set by the last renderHighlights

function mark(key, className, properties = {}) {
  for (const element of root.querySelectorAll(`.seg[data-k~="${key}"]`)) {
    element.classList.add(className);
    for (const [name, value] of Object.entries(properties)) element.style.setProperty(name, value);
    marked.push([element, className]);
  }
}

/** Classes on the segments of the selected span, its linked spans and a link candidate.
 * Only those elements change, so a new selection costs no style pass over the text. */
function renderHighlights() {
  for (const [element, className] of marked) element.classList.remove(className);
  marked = [];
  const selected = state.spans.get(state.selected);
  if (selected) {
    const colour = colours.get(selected.label) ?? "#888888";
    mark(selected.key, "is-selected", { "--sel-fill": rgba(colour, 0.5), "--sel-line": colour });
    for (const rel of relationsOf(selected)) {
      const other = rel.head === selected ? rel.tail : rel.head;
      mark(other.key, "is-linked", { "--link-line": colours.get(other.label) ?? "#888888" });
    }
  }
  if (state.spans.has(state.candidate)) mark(state.candidate, "is-candidate");
  const from = state.spans.get(state.linkFrom);
  root.classList.toggle("linking", Boolean(from));
  if (from) root.dataset.linking = from.label;
  else delete root.dataset.linking;
}

/** The outlines of the spans a link may end on, for each label it may start from. Written
 * once: starting a link then changes one attribute of the text, where rewriting a style
 * sheet would restyle and lay out the whole document (60 ms on a 50,000-character one). */
function linkTargetStyle() {
  const rules = [];
  for (const from of spanLabels) {
    for (const to of spanLabels) {
      if (linkBetween({ label: from.name }, { label: to.name })) {
        rules.push(`#${CSS.escape(root.id)}[data-linking="${CSS.escape(from.name)}"] .seg[data-l~="${CSS.escape(to.name)}"] { cursor: crosshair; outline: 1px dotted ${to.colour}; }`);
      }
    }
  }
  return rules.join("\n");
}

// --- the pending text selection ----------------------------------------------------

/** The UTF-16 range of the document that `range` covers, or null if it misses the text. */
function rangeOffsets(range) {
  if (!range.intersectsNode(root)) return null;
  const whole = document.createRange();
  whole.selectNodeContents(root);
  const s16 =
    range.compareBoundaryPoints(Range.START_TO_START, whole) <= 0
      ? 0
      : textOffset(root, range.startContainer, range.startOffset);
  const e16 =
    range.compareBoundaryPoints(Range.END_TO_END, whole) >= 0
      ? text.length
      : textOffset(root, range.endContainer, range.endOffset);
  if (s16 === null || e16 === null || e16 <= s16) return null;
  return { s16, e16 };
}

const SNAP_KEY = "wb:snap-to-words";

const snapping = () => Boolean(ui.snap?.checked);

/** The range a label goes on: the selection, or with "snap to words" on, the whole words
 * it touches (code points stay exact: only the ends move). */
function labelRange(range) {
  return snapping() ? snapToWords(text, range.s16, range.e16) : range;
}

function readSelection() {
  const selection = getSelection();
  if (!selection.rangeCount || selection.isCollapsed) return null;
  return rangeOffsets(selection.getRangeAt(0));
}

function restorePendingSelection() {
  if (!state.pending) return;
  const current = readSelection();
  if (current && current.s16 === state.pending.s16 && current.e16 === state.pending.e16) return;
  const start = domPoint(root, state.pending.s16);
  const end = domPoint(root, state.pending.e16);
  getSelection().setBaseAndExtent(start.node, start.offset, end.node, end.offset);
}

let selectionFrame = 0;

function onSelectionChange() {
  if (selectionFrame) return;
  selectionFrame = requestAnimationFrame(() => {
    selectionFrame = 0;
    const pending = readSelection();
    const same =
      pending === state.pending ||
      (pending && state.pending && pending.s16 === state.pending.s16 && pending.e16 === state.pending.e16);
    if (same) return;
    state.pending = pending;
    renderSelectionPanel();
  });
}

function clearTextSelection() {
  state.pending = null;
  getSelection().removeAllRanges();
}

// --- saving ---------------------------------------------------------------------------

/**
 * Queue a write: a function of the version, or a batchable write (see SaveQueue). A layer
 * not made yet (gold before adjudication starts: GET never makes one) is made by a POST
 * to `config.api.layer` ahead of its first write.
 */
function save(operation) {
  if (state.layerId === null && !layerStarting) {
    layerStarting = true;
    queue.push(async () => {
      const layer = await request("POST", config.api.layer);
      state.layerId = layer.id;
      // Another reviewer started it first and wrote to it: reload it, as after a conflict.
      if (layer.version !== UNSTARTED_LAYER.version) {
        throw new ApiError(409, { detail: "Someone else started this layer first." });
      }
      return layer.version;
    });
  }
  queue.push(operation);
}

function layerUrl(path = "") {
  return `${config.api.layers}${state.layerId}/${path}`;
}

/** Writes queued while a request was in flight go as one batch; a write alone goes to
 * its own endpoint, and its answer is read as a batch's ({version, spans, links}). */
function sendWrites(version, operations) {
  if (operations.length > 1) return request("POST", layerUrl("operations/"), { version, operations });
  return sendAlone(version, operations[0]);
}

async function sendAlone(version, { op, id, ref, ...fields }) {
  const nothing = { spans: {}, links: {} };
  if (op === "create_span") {
    const data = await request("POST", layerUrl("spans/"), { ...fields, version });
    return { ...nothing, version: data.version, spans: { [ref]: data.span } };
  }
  if (op === "create_link") {
    const data = await request("POST", layerUrl("relations/"), { ...fields, version });
    return { ...nothing, version: data.version, links: { [ref]: data.relation } };
  }
  const path = op === "delete_link" ? `relations/${id}/` : `spans/${id}/`;
  const data =
    op === "update_span"
      ? await request("PATCH", layerUrl(path), { ...fields, version })
      : await request("DELETE", layerUrl(`${path}?version=${version}`));
  return { ...nothing, version: data.version };
}

// Each create gives what it makes a new `made` = {id, ref}: the ref names it within its
// batch, the id comes back once it is saved. A later write takes the `made` of when it
// was queued and names it by id if it has one by the time it is sent, else by the ref (a
// create in the same batch). An undone delete makes the span again: a new `made`.
let nextRef = 1;

const nameOf = (made) => made.id ?? made.ref;

function addSpan(span) {
  state.spans.set(span.key, span);
  contentRevision++;
  markDirty(span.s16, span.e16);
  const body = { label: span.label, start: span.start, end: span.end, attrs: { ...span.attrs }, quote: span.quote };
  if (span.entry) Object.assign(body, { entry: span.entry, stance: span.stance });
  const made = { id: null, ref: `s${nextRef++}` };
  span.made = made;
  save({
    body: () => ({ op: "create_span", ref: made.ref, ...body }),
    saved: (result) => {
      made.id = result.spans[made.ref]?.id ?? null;
      span.onSaved?.();
      span.onSaved = null;
    },
  });
}

function removeSpan(span) {
  state.spans.delete(span.key);
  contentRevision++;
  markDirty(span.s16, span.e16);
  // The server drops the span's links with it.
  for (const rel of relationsOf(span)) {
    state.relations.delete(rel.key);
    linksRevision++;
  }
  if (state.selected === span.key) state.selected = null;
  if (state.linkFrom === span.key) state.linkFrom = null;
  const made = span.made;
  save({ body: () => ({ op: "delete_span", id: nameOf(made) }) });
}

function setSpanFields(span, changes) {
  if (relationsOf(span).length) linksRevision++;
  contentRevision++;
  markDirty(span.s16, span.e16);
  Object.assign(span, changes);
  span.s16 = offsets.toUtf16(span.start);
  span.e16 = offsets.toUtf16(span.end);
  span.quote = text.slice(span.s16, span.e16);
  markDirty(span.s16, span.e16);
}

function saveSpanFields(span, fields) {
  const body = {};
  for (const field of fields) body[field] = span[field];
  if (fields.includes("start") || fields.includes("end")) body.quote = span.quote;
  const made = span.made;
  save({ body: () => ({ op: "update_span", id: nameOf(made), ...body }) });
}

function updateSpan(span, changes) {
  setSpanFields(span, changes);
  saveSpanFields(span, Object.keys(changes));
}

function addRelation(rel) {
  state.relations.set(rel.key, rel);
  linksRevision++;
  contentRevision++;
  const made = { id: null, ref: `l${nextRef++}` };
  rel.made = made;
  const head = rel.head.made;
  const tail = rel.tail.made;
  save({
    body: () => ({ op: "create_link", ref: made.ref, type: rel.type, head: nameOf(head), tail: nameOf(tail) }),
    saved: (result) => {
      made.id = result.links[made.ref]?.id ?? null;
    },
  });
}

function removeRelation(rel) {
  state.relations.delete(rel.key);
  linksRevision++;
  contentRevision++;
  const made = rel.made;
  save({ body: () => ({ op: "delete_link", id: nameOf(made) }) });
}

const SAVE_TEXT = {
  saved: "All changes saved",
  saving: "Saving…",
  retrying: "Not saved: retrying…",
  error: "Not saved",
  conflict: "Reloaded after a conflict",
  readonly: "Read-only",
};

function setSaveState(name, detail) {
  const element = ui.saveState;
  element.dataset.state = name;
  let label = SAVE_TEXT[name];
  if (name === "retrying") {
    const why = detail.error instanceof ApiError ? detail.error.message : "the server cannot be reached";
    label = `Not saved (${why}): retrying in ${Math.round(detail.delay / 1000)} s`;
  }
  element.textContent = label;
  ui.retry.hidden = name !== "retrying";
}

function showNotice(kind, message) {
  const notice = ui.notice;
  notice.dataset.kind = kind;
  fill(notice,
    h("span", {}, message),
    h("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => (notice.hidden = true) }, "×"),
  );
  notice.hidden = false;
}

/** A write failed for good: reload the layer, keep what the user had in hand. */
async function onSaveFailure(error) {
  clearTimeout(resize?.timer);
  resize = null;
  const selectedId = state.spans.get(state.selected)?.made.id;
  const linkFromId = state.spans.get(state.linkFrom)?.made.id;
  const unsaved = [...state.spans.values()].filter((span) => span.made.id === null).pop();
  let layer;
  try {
    layer = await request("GET", layerUrl());
  } catch (reloadError) {
    setSaveState("error");
    showNotice("error", `Not saved: ${error.message} The layer could not be reloaded either (${reloadError.message}); reload the page.`);
    return;
  }
  queue.reset(layer.version);
  const spanById = loadLayer(layer);
  state.undo = [];
  state.redo = [];
  state.selected = spanById.get(selectedId)?.key ?? null;
  state.linkFrom = spanById.get(linkFromId)?.key ?? null;
  state.candidate = null;
  // A span the server never took is what the user was doing: its text is selected again.
  // Only now, in the same step as the repaint that selects it in the page: set while the
  // reload was in flight, it would disagree with the page's (empty) text selection, and
  // a selectionchange handled meanwhile would clear it as if the user had.
  if (unsaved && !state.pending) state.pending = { s16: unsaved.s16, e16: unsaved.e16 };
  refresh();
  if (error instanceof ApiError && error.status === 409) {
    setSaveState("conflict");
    showNotice("conflict", `This layer was changed in another tab or by someone else (version ${layer.version}); your view was refreshed.`);
  } else {
    setSaveState(state.readOnly ? "readonly" : "error");
    showNotice("error", `Not saved: ${error.message} Your view was refreshed from the server.`);
  }
}

// --- commands (undoable) ----------------------------------------------------------------

function perform(command) {
  if (state.readOnly) return;
  flushResize();
  command.apply();
  state.undo.push(command);
  state.redo = [];
  refresh();
}

function undo() {
  if (state.readOnly) return;
  flushResize();
  const command = state.undo.pop();
  if (!command) return;
  command.revert();
  state.redo.push(command);
  refresh();
}

function redo() {
  if (state.readOnly) return;
  const command = state.redo.pop();
  if (!command) return;
  command.apply();
  state.undo.push(command);
  refresh();
}

function createSpanCommand(span) {
  return {
    apply: () => {
      addSpan(span);
      state.selected = span.key;
    },
    revert: () => removeSpan(span),
  };
}

function deleteSpanCommand(span) {
  const links = relationsOf(span);
  return {
    apply: () => removeSpan(span),
    revert: () => {
      addSpan(span);
      links.forEach(addRelation);
      state.selected = span.key;
    },
  };
}

function updateSpanCommand(span, before, after) {
  return {
    apply: () => {
      updateSpan(span, after);
      state.selected = span.key;
    },
    revert: () => {
      updateSpan(span, before);
      state.selected = span.key;
    },
  };
}

function createRelationCommand(rel) {
  return { apply: () => addRelation(rel), revert: () => removeRelation(rel) };
}

function deleteRelationCommand(rel) {
  return { apply: () => removeRelation(rel), revert: () => addRelation(rel) };
}

// --- actions ----------------------------------------------------------------------------

function afterPaint(callback) {
  requestAnimationFrame(() => setTimeout(callback, 0));
}

/** Label the selected text, or relabel the selected span. `t0`: when the key went down. */
function applyLabel(name, t0 = performance.now()) {
  if (state.readOnly) return;
  const label = labelByName.get(name);
  const selected = readSelection() ?? state.pending;
  if (selected) {
    const range = labelRange(selected);
    const start = offsets.toCodePoint(range.s16);
    const end = offsets.toCodePoint(range.e16);
    if (end <= start) return;
    const twin = [...state.spans.values()].find((s) => s.label === name && s.start === start && s.end === end);
    clearTextSelection();
    if (twin) {
      state.selected = twin.key;
      refresh();
      showNotice("info", `This text is already marked as ${name}.`);
      return;
    }
    const span = makeSpan({ label: name, start, end });
    span.onSaved = () => performance.measure("wb:save", { start: t0, end: performance.now() });
    perform(createSpanCommand(span));
    afterPaint(() => performance.measure("wb:paint", { start: t0, end: performance.now() }));
    return;
  }
  const span = state.spans.get(state.selected);
  if (!span || span.label === name) return;
  // The server refuses a label that breaks one of the span's links: say so here.
  const relabelled = { ...span, label: name };
  const broken = relationsOf(span).find((rel) => {
    const head = rel.head === span ? relabelled : rel.head;
    const tail = rel.tail === span ? relabelled : rel.tail;
    const link = linkBetween(head, tail);
    return !link || link.type !== rel.type || link.head !== head;
  });
  if (broken) {
    showNotice("info", `This span is linked (${broken.type}): a ${name} cannot stand there. Remove the link first.`);
    return;
  }
  // Attributes that the new label does not have are dropped.
  const allowed = label.attribute_schema ?? {};
  const attrs = Object.fromEntries(Object.entries(span.attrs).filter(([key, value]) => allowed[key]?.includes(value)));
  // So is a link to a catalogue the new label does not link to.
  if (span.entry && label.catalogue !== labelByName.get(span.label)?.catalogue) {
    const before = { label: span.label, attrs: span.attrs, entry: span.entry, stance: span.stance };
    perform(updateSpanCommand(span, before, { label: name, attrs, entry: null, stance: "" }));
    return;
  }
  perform(updateSpanCommand(span, { label: span.label, attrs: span.attrs }, { label: name, attrs }));
}

/** Link a span to a catalogue entry (null: unlink) with a stance: one undoable update. */
function setLink(span, entry, stance) {
  perform(updateSpanCommand(span, { entry: span.entry, stance: span.stance }, { entry, stance }));
}

function setAttribute(span, name, value) {
  const attrs = { ...span.attrs };
  if (value === null) delete attrs[name];
  else attrs[name] = value;
  perform(updateSpanCommand(span, { attrs: span.attrs }, { attrs }));
}

function deleteSelected() {
  const span = state.spans.get(state.selected);
  if (span) perform(deleteSpanCommand(span));
}

function select(key) {
  state.selected = key;
  state.candidate = null;
  refresh();
  if (key !== null) revealSpan(key);
}

function revealSpan(key) {
  root.querySelector(`.seg[data-k~="${key}"]`)?.scrollIntoView({ block: "nearest" });
}

function startLink() {
  const from = state.spans.get(state.selected);
  if (!from || state.readOnly) return;
  if (!sortedSpans().some((span) => linkBetween(from, span))) {
    showNotice("info", `Nothing in this document can be linked to a ${from.label}: mark one first.`);
    return;
  }
  state.linkFrom = from.key;
  state.candidate = null;
  refresh();
}

function cancelLink() {
  state.linkFrom = null;
  state.candidate = null;
  refresh();
}

/** Link the span the link started from to `target`. `t0`: when the click or key came. */
function linkTo(target, t0 = performance.now()) {
  const from = state.spans.get(state.linkFrom);
  const link = from && linkBetween(from, target);
  state.linkFrom = null;
  state.candidate = null;
  if (!link) {
    refresh();
    showNotice("info", `A ${from?.label} cannot be linked to a ${target.label}.`);
    return;
  }
  const exists = [...state.relations.values()].some(
    (rel) => rel.type === link.type && rel.head === link.head && rel.tail === link.tail,
  );
  if (exists) {
    refresh();
    showNotice("info", "These two spans are linked already.");
    return;
  }
  perform(createRelationCommand({ key: nextKey++, ...link }));
  afterPaint(() => performance.measure("wb:link", { start: t0, end: performance.now() }));
}

/** Move the selection (or the link candidate) to the next or previous span in reading order. */
function cycle(direction) {
  const from = state.spans.get(state.linkFrom);
  const pool = sortedSpans().filter((span) => !from || linkBetween(from, span));
  if (!pool.length) return;
  const current = from ? state.candidate : state.selected;
  const index = pool.findIndex((span) => span.key === current);
  let next;
  if (index === -1) next = direction > 0 ? pool[0] : pool[pool.length - 1];
  else next = pool[(index + direction + pool.length) % pool.length];
  if (from) {
    state.candidate = next.key;
    refresh();
    revealSpan(next.key);
  } else {
    select(next.key);
  }
}

/** Move one edge of the selected span by a grapheme (or a word); saved after a pause. */
function resizeSelected(edge, direction, granularity) {
  const span = state.spans.get(state.selected);
  if (!span || state.readOnly) return;
  let { s16, e16 } = span;
  if (edge === "end") e16 = step(text, e16, direction, granularity);
  else s16 = step(text, s16, direction, granularity);
  if (e16 <= s16 || s16 < 0 || e16 > text.length) return;
  if (!resize || resize.span !== span) {
    flushResize();
    resize = { span, before: { start: span.start, end: span.end }, timer: null };
  }
  setSpanFields(span, { start: offsets.toCodePoint(s16), end: offsets.toCodePoint(e16) });
  clearTimeout(resize.timer);
  resize.timer = setTimeout(flushResize, 400);
  refresh();
}

function flushResize() {
  if (!resize) return;
  const { span, before, timer } = resize;
  clearTimeout(timer);
  resize = null;
  if (span.start === before.start && span.end === before.end) return;
  const after = { start: span.start, end: span.end };
  saveSpanFields(span, ["start", "end"]);
  state.undo.push(updateSpanCommand(span, before, after));
  state.redo = [];
  refresh();
}

/** Shift+arrows with no span selected extend the text selection, as in an editor. */
function extendTextSelection(direction, granularity) {
  const selection = getSelection();
  if (!selection.rangeCount || !root.contains(selection.anchorNode)) {
    const point = domPoint(root, 0);
    selection.collapse(point.node, point.offset);
  }
  selection.modify("extend", direction > 0 ? "forward" : "backward", granularity === "word" ? "word" : "character");
}

// The review page asks for a reason when gold is refused as not settled (review.js).
let askSubmitReason = null;

async function submit(reason = "") {
  if (state.readOnly) return;
  flushResize();
  const checks = config.submitChecks ?? [];
  const warnings = submitWarnings([...state.spans.values()], [...state.relations.values()], labels, checks);
  if (!(await confirmSubmit(warnings))) return;
  const button = ui.submit;
  button.disabled = true;
  try {
    await queue.idle();
    await request("POST", layerUrl("submit/"), { version: queue.version, ...(reason ? { reason } : {}) });
    window.location.assign(config.next);
  } catch (error) {
    button.disabled = false;
    if (error instanceof ApiError && error.status === 409) await onSaveFailure(error);
    else if (error instanceof ApiError && error.body.reason && askSubmitReason) {
      const given = await askSubmitReason(error.body.reason.join(" "));
      if (given) await submit(given);
    } else showNotice("error", `Not submitted: ${error.message}`);
  }
}

async function skip(reason) {
  flushResize();
  try {
    await queue.idle();
    await request("POST", config.api.skip, { reason });
    window.location.assign(config.next);
  } catch (error) {
    showNotice("error", `Not skipped: ${error.message}`);
  }
}

// --- panels -------------------------------------------------------------------------------

function chip(label) {
  return h("span", { class: "chip", style: `--c: ${colours.get(label) ?? "#888888"}` }, label);
}

// The quote marks belong to the page's direction, the quoted text is isolated inside them:
// with dir="auto" on the <q>, a Persian quote put its marks at the wrong ends.
function quoteOf(span, limit) {
  return h("q", {}, h("bdi", {}, shorten(span.quote.replace(/\s+/g, " "), limit)));
}

function renderSelectionPanel() {
  const panel = ui.selectionPanel;
  const range = state.pending;
  if (!range || state.readOnly) {
    panel.hidden = true;
    return;
  }
  const { s16, e16 } = labelRange(range);
  const start = offsets.toCodePoint(s16);
  const end = offsets.toCodePoint(e16);
  panel.hidden = false;
  fill(panel,
    h("h2", {}, snapping() ? "Selected words" : "Selected text"),
    h("blockquote", { dir: "auto" }, shorten(text.slice(s16, e16), 300)),
    h("p", { class: "muted small" }, `[${start}, ${end}) · ${end - start} characters`),
    h("p", { class: "small" }, "Press a label key or click a label:"),
    h(
      "div",
      { class: "label-choices" },
      spanLabels.map((label) =>
        h(
          "button",
          {
            type: "button",
            class: "label-button",
            style: `--c: ${label.colour}`,
            onmousedown: (event) => event.preventDefault(),
            onclick: () => applyLabel(label.name),
          },
          label.hotkey ? h("kbd", {}, label.hotkey) : null,
          ` ${label.name}`,
        ),
      ),
    ),
  );
}

function attributeEditor(span) {
  const schema = labelByName.get(span.label)?.attribute_schema ?? {};
  return Object.entries(schema).map(([name, values], position) =>
    h(
      "fieldset",
      { class: "attribute", "data-attribute": name },
      h("legend", {}, name),
      values.map((value, index) =>
        h(
          "button",
          {
            type: "button",
            class: "toggle",
            "aria-pressed": span.attrs[name] === value ? "true" : "false",
            disabled: state.readOnly,
            "data-value": value,
            onclick: () => setAttribute(span, name, span.attrs[name] === value ? null : value),
          },
          position === 0 && index < 9 ? h("kbd", {}, String(index + 1)) : null,
          ` ${value}`,
        ),
      ),
    ),
  );
}

function renderSpanPanel() {
  const panel = ui.spanPanel;
  const span = state.spans.get(state.selected);
  if (!span) {
    panel.hidden = true;
    return;
  }
  const from = state.spans.get(state.linkFrom);
  const links = relationsOf(span);
  const overlapping = sortedSpans().filter((other) => other !== span && other.s16 < span.e16 && span.s16 < other.e16);
  panel.hidden = false;
  fill(panel,
    h("h2", {}, "Span ", chip(span.label)),
    h("blockquote", { dir: "auto" }, shorten(span.quote, 300)),
    h("p", { class: "muted small" }, `[${span.start}, ${span.end}) · ${span.end - span.start} characters`),
    state.readOnly
      ? null
      : h(
          "div",
          { class: "label-choices", "aria-label": "Change the label" },
          spanLabels.map((label) =>
            h(
              "button",
              {
                type: "button",
                class: "label-button",
                style: `--c: ${label.colour}`,
                "aria-pressed": label.name === span.label ? "true" : "false",
                onclick: () => applyLabel(label.name),
              },
              label.hotkey ? h("kbd", {}, label.hotkey) : null,
              ` ${label.name}`,
            ),
          ),
        ),
    attributeEditor(span),
    linkPicker(span, labelByName.get(span.label), {
      url: config.api.catalogue,
      readOnly: state.readOnly,
      setLink: (entry, stance) => setLink(span, entry, stance),
    }),
    h(
      "div",
      { class: "links" },
      h("h3", {}, `Its links (${links.length})`),
      links.length
        ? h(
            "ul",
            {},
            links.map((rel) => {
              const other = rel.head === span ? rel.tail : rel.head;
              return h(
                "li",
                {},
                h("span", { class: "muted" }, rel.head === span ? `${rel.type} →` : `← ${rel.type}`),
                " ",
                h("button", { type: "button", class: "link", onclick: () => select(other.key) }, chip(other.label), " ", quoteOf(other, 40)),
                state.readOnly
                  ? null
                  : h("button", { type: "button", class: "remove", "aria-label": "Remove this link", title: "Remove this link", onclick: () => perform(deleteRelationCommand(rel)) }, "×"),
              );
            }),
          )
        : h("p", { class: "muted small" }, "No links yet."),
    ),
    overlapping.length
      ? h(
          "div",
          { class: "overlaps" },
          h("h3", {}, "Overlapping spans"),
          h(
            "ul",
            {},
            overlapping.map((other) =>
              h("li", {}, h("button", { type: "button", class: "link", onclick: () => select(other.key) }, chip(other.label), " ", quoteOf(other, 40))),
            ),
          ),
        )
      : null,
    state.readOnly
      ? null
      : h(
          "div",
          { class: "actions" },
          from
            ? h("p", { class: "linking-hint", role: "status" }, `Pick what to link this ${from.label} to: click it, or Alt+↓ then Enter. Esc cancels.`)
            : h("button", { type: "button", id: "link-button", onclick: startLink }, "Link… ", h("kbd", {}, "l")),
          h("button", { type: "button", class: "danger", id: "delete-button", onclick: deleteSelected }, "Delete ", h("kbd", {}, "Del")),
        ),
  );
}

// Each link's list item, kept while the link and its two spans stay as they are, so that
// adding one link to a long list adds one item instead of rebuilding them all.
const linkItems = new Map(); // relation key -> {rel, signature, element}

function linkItem(rel) {
  const { head, tail } = rel;
  const signature = [rel.type, head.key, head.label, head.s16, head.e16, tail.key, tail.label, tail.s16, tail.e16, state.readOnly].join("|");
  const kept = linkItems.get(rel.key);
  if (kept && kept.rel === rel && kept.signature === signature) return kept.element;
  const element = h(
    "li",
    { dataset: { type: rel.type } },
    h("button", { type: "button", class: "link", onclick: () => select(head.key) }, chip(head.label), " ", quoteOf(head, 30)),
    h("span", { class: "muted" }, ` ${rel.type} → `),
    h("button", { type: "button", class: "link", onclick: () => select(tail.key) }, chip(tail.label), " ", quoteOf(tail, 30)),
    state.readOnly
      ? null
      : h("button", { type: "button", class: "remove", "aria-label": "Remove this link", title: "Remove this link", onclick: () => perform(deleteRelationCommand(rel)) }, "×"),
  );
  linkItems.set(rel.key, { rel, signature, element });
  return element;
}

function renderLinksPanel() {
  if (linksShown === linksRevision) return;
  linksShown = linksRevision;
  const relations = [...state.relations.values()].sort((a, b) => a.head.s16 - b.head.s16 || a.tail.s16 - b.tail.s16);
  ui.linksCount.textContent = String(relations.length);
  const items = relations.map(linkItem);
  for (const key of linkItems.keys()) if (!state.relations.has(key)) linkItems.delete(key);
  keepChildren(ui.linksList, items);
}

function renderCounts() {
  const counts = new Map();
  for (const span of state.spans.values()) counts.set(span.label, (counts.get(span.label) ?? 0) + 1);
  for (const element of document.querySelectorAll("[data-count]")) {
    element.textContent = String(counts.get(element.dataset.count) ?? 0);
  }
  ui.undo.disabled = state.readOnly || !state.undo.length;
  ui.redo.disabled = state.readOnly || !state.redo.length;
}

let arcsShown = null; // what the arcs were last drawn for
let arcsLater = false; // a redraw after the next paint is scheduled

function drawArcs() {
  arcsShown = `${linksRevision}|${contentRevision}|${state.selected}`;
  const t0 = performance.now();
  arcs.draw([...state.relations.values()], (type) => colours.get(type) ?? "#555555", state.selected);
  performance.measure("wb:arcs", { start: t0, end: performance.now() });
}

/** Arcs over spans that did not move are redrawn at once. After a repaint of the text
 * the spans are measured again, which lays the text out: that waits until the new text
 * is on the screen, so a new span shows without waiting for the arcs. */
function renderArcs() {
  if (arcs.boxes) {
    if (arcsShown !== `${linksRevision}|${contentRevision}|${state.selected}`) drawArcs();
    return;
  }
  if (arcsLater) return;
  arcsLater = true;
  // After the frame that shows the text, and after whatever else waits for that frame.
  afterPaint(() =>
    setTimeout(() => {
      arcsLater = false;
      drawArcs();
    }, 0),
  );
}

function refresh() {
  repaint();
  renderHighlights();
  renderSelectionPanel();
  renderSpanPanel();
  renderLinksPanel();
  renderCounts();
  // Last: measuring the spans lays the page out, once, after every other change.
  renderArcs();
  document.body.classList.toggle("read-only", state.readOnly);
  if (contentShown !== contentRevision) {
    contentShown = contentRevision;
    for (const listener of changeListeners) listener();
  }
}

// --- input ----------------------------------------------------------------------------------

function onTextClick(event) {
  if (!getSelection().isCollapsed) return; // the end of a drag, not a click
  const segment = event.target.closest?.(".seg");
  const here = segment
    ? segment.dataset.k
        .split(" ")
        .map((key) => state.spans.get(Number(key)))
        .filter(Boolean)
        .sort((a, b) => a.e16 - a.s16 - (b.e16 - b.s16))
    : [];
  const from = state.spans.get(state.linkFrom);
  if (from) {
    const target = here.find((span) => linkBetween(from, span));
    if (target) linkTo(target, event.timeStamp);
    return;
  }
  if (!here.length) {
    if (state.selected !== null) select(null);
    return;
  }
  // Innermost first; clicking again on the same spot picks the next span around it.
  const index = here.findIndex((span) => span.key === state.selected);
  select(here[(index + 1) % here.length].key);
}

function isTyping(target) {
  return Boolean(target.closest?.("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
}

function onKeyDown(event) {
  if (event.defaultPrevented || isTyping(event.target) || document.querySelector("dialog[open]")) return;
  const { key } = event;
  const ctrl = event.ctrlKey || event.metaKey;
  const lower = key.length === 1 ? key.toLowerCase() : key;
  let handled = true;
  if (ctrl && !event.altKey && lower === "z") event.shiftKey ? redo() : undo();
  else if (ctrl && !event.altKey && lower === "y") redo();
  else if (ctrl && key === "Enter") submit();
  else if (key === "?") ui.helpDialog.showModal();
  else if (key === "Escape") {
    if (state.linkFrom !== null) cancelLink();
    else if (state.pending) {
      clearTextSelection();
      refresh();
    } else select(null);
  } else if (event.altKey && (key === "ArrowDown" || key === "ArrowUp")) cycle(key === "ArrowDown" ? 1 : -1);
  else if (event.shiftKey && (key === "ArrowLeft" || key === "ArrowRight")) {
    const direction = key === "ArrowRight" ? 1 : -1;
    const granularity = ctrl ? "word" : "grapheme";
    if (state.selected !== null && !readSelection()) resizeSelected(event.altKey ? "start" : "end", direction, granularity);
    else extendTextSelection(direction, granularity);
  } else if (ctrl || event.altKey) handled = false;
  else if (key === "Delete" || key === "Backspace") deleteSelected();
  else if (key === "Enter" && state.linkFrom !== null && state.candidate !== null) linkTo(state.spans.get(state.candidate), event.timeStamp);
  else if (/^[1-9]$/.test(key) && state.selected !== null && !state.readOnly) {
    const span = state.spans.get(state.selected);
    const [name, values] = Object.entries(labelByName.get(span.label)?.attribute_schema ?? {})[0] ?? [];
    const value = values?.[Number(key) - 1];
    if (value === undefined) handled = false;
    else setAttribute(span, name, value);
  } else if (hotkeys.has(lower)) applyLabel(hotkeys.get(lower).name, event.timeStamp);
  else if (lower === "l") startLink();
  else handled = false;
  if (handled) event.preventDefault();
}

function bindControls() {
  root.addEventListener("click", onTextClick);
  document.addEventListener("selectionchange", onSelectionChange);
  document.addEventListener("keydown", onKeyDown);
  for (const button of ui.labelButtons) {
    // Keep the text selection: a click on a label labels it.
    button.addEventListener("mousedown", (event) => event.preventDefault());
    button.addEventListener("click", () => applyLabel(button.dataset.label));
  }
  ui.undo.addEventListener("click", undo);
  ui.redo.addEventListener("click", redo);
  ui.retry.addEventListener("click", () => queue.retryNow());
  ui.help.addEventListener("click", () => ui.helpDialog.showModal());
  ui.submit.addEventListener("click", () => submit());
  if (ui.snap) {
    ui.snap.checked = localStorage.getItem(SNAP_KEY) === "on";
    ui.snap.addEventListener("change", () => {
      localStorage.setItem(SNAP_KEY, ui.snap.checked ? "on" : "off");
      renderSelectionPanel();
    });
  }
  window.addEventListener("beforeunload", (event) => {
    if (queue.pending || resize) event.preventDefault();
  });
}

// --- the editor, driven by another page (the review page edits the gold layer) ----------

const spanKeyOf = (span) => `${span.start}:${span.end}:${span.label}`;
const linkKeyOf = (rel) => `${rel.type}|${spanKeyOf(rel.head)}|${spanKeyOf(rel.tail)}`;

function sameAttrs(a, b) {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/** Several commands as one undoable step: applied in order, reverted backwards. */
function batchCommand(commands) {
  return {
    apply: () => commands.forEach((command) => command.apply()),
    revert: () => [...commands].reverse().forEach((command) => command.revert()),
  };
}

/** Write spans ({label, start, end, attrs, entry, stance}) and links ({type, head, tail}:
 * span keys "start:end:label") into the layer as one undoable step. A span already there
 * with other attributes, entry or stance takes the given ones (only those that differ are
 * sent); what is there already is left alone. */
function accept({ spans = [], links = [] }) {
  if (state.readOnly) return false;
  flushResize();
  const byKey = new Map([...state.spans.values()].map((span) => [spanKeyOf(span), span]));
  const commands = [];
  for (const item of spans) {
    const wanted = { attrs: { ...(item.attrs ?? {}) }, entry: item.entry ?? null, stance: item.stance ?? "" };
    const twin = byKey.get(spanKeyOf(item));
    if (!twin) {
      const span = makeSpan({ label: item.label, start: item.start, end: item.end, ...wanted });
      byKey.set(spanKeyOf(span), span);
      commands.push(createSpanCommand(span));
      continue;
    }
    const now = { attrs: twin.attrs, entry: twin.entry ?? null, stance: twin.stance ?? "" };
    const changed = Object.keys(wanted).filter((name) =>
      name === "attrs" ? !sameAttrs(now.attrs, wanted.attrs) : now[name] !== wanted[name],
    );
    if (changed.length) {
      const pick = (from) => Object.fromEntries(changed.map((name) => [name, from[name]]));
      commands.push(updateSpanCommand(twin, pick(now), pick(wanted)));
    }
  }
  for (const link of links) {
    const head = byKey.get(link.head);
    const tail = byKey.get(link.tail);
    if (!head || !tail) continue;
    const exists = [...state.relations.values()].some(
      (rel) => rel.type === link.type && rel.head === head && rel.tail === tail,
    );
    if (!exists) commands.push(createRelationCommand({ key: nextKey++, type: link.type, head, tail }));
  }
  if (!commands.length) return false;
  // The text shown for the candidate has served its purpose.
  clearTextSelection();
  perform(batchCommand(commands));
  return true;
}

/** Take out the span with this key ("start:end:label"), its links with it; undoable. */
function removeByKey(key) {
  const span = [...state.spans.values()].find((item) => spanKeyOf(item) === key);
  if (!span || state.readOnly) return false;
  perform(deleteSpanCommand(span));
  return true;
}

/** Take out one link ({type, head, tail} with span keys); undoable. */
function unlink(link) {
  const key = `${link.type}|${link.head}|${link.tail}`;
  const rel = [...state.relations.values()].find((item) => linkKeyOf(item) === key);
  if (!rel || state.readOnly) return false;
  perform(deleteRelationCommand(rel));
  return true;
}

/** Show a range of the text: select the span there with this label, or else the text. */
function focusRange({ start, end, label }) {
  const twin = [...state.spans.values()].find(
    (span) => span.start === start && span.end === end && span.label === label,
  );
  if (twin) {
    clearTextSelection();
    select(twin.key);
    return;
  }
  state.selected = null;
  state.linkFrom = null;
  state.pending = { s16: offsets.toUtf16(start), e16: offsets.toUtf16(end) };
  refresh();
  restorePendingSelection();
  domPoint(root, state.pending.s16).node.parentElement?.scrollIntoView({ block: "center" });
}

/** Load a layer the server changed by itself (a merge, a reopen). With `additions`, the
 * change only added spans and links, and undoing it takes them out again. */
function absorb(layer, { additions = false } = {}) {
  flushResize();
  const spansBefore = new Set([...state.spans.values()].map(spanKeyOf));
  const linksBefore = new Set([...state.relations.values()].map(linkKeyOf));
  queue.reset(layer.version);
  loadLayer(layer);
  // The commands on the stacks point at spans that are gone now.
  state.undo = [];
  state.redo = [];
  state.selected = null;
  state.linkFrom = null;
  state.candidate = null;
  if (additions) {
    const added = [...state.spans.values()].filter((span) => !spansBefore.has(spanKeyOf(span)));
    const links = [...state.relations.values()].filter((rel) => !linksBefore.has(linkKeyOf(rel)));
    if (added.length || links.length) {
      state.undo.push({
        apply: () => {
          added.forEach(addSpan);
          links.forEach(addRelation);
        },
        revert: () => {
          links.forEach(removeRelation);
          added.forEach(removeSpan);
        },
      });
    }
  }
  refresh();
  setSaveState(state.readOnly ? "readonly" : "saved");
}

export const editor = {
  ready: null, // resolves once the layer is loaded and painted
  get layerId() {
    return state.layerId;
  },
  get readOnly() {
    return state.readOnly;
  },
  /** The layer as it stands on the page: spans and links by key. */
  content() {
    return {
      spans: [...state.spans.values()].map((span) => ({
        key: spanKeyOf(span),
        label: span.label,
        start: span.start,
        end: span.end,
        attrs: { ...span.attrs },
        entry: span.entry,
        stance: span.stance,
      })),
      links: [...state.relations.values()].map((rel) => ({
        type: rel.type,
        head: spanKeyOf(rel.head),
        tail: spanKeyOf(rel.tail),
      })),
    };
  },
  /** `listener()` runs after every change to the spans or links (edits, undo, reloads). */
  onChange(listener) {
    changeListeners.push(listener);
  },
  /** `listener(layer)` gets every layer body loaded from the server, the current one first. */
  onLoad(listener) {
    loadListeners.push(listener);
    if (loadedLayer) listener(loadedLayer);
  },
  /** Queue a write made beside the editor: `operation(version)` returns the new version. */
  save,
  /** Skip the document (the annotator's layer): saved edits first, then the next one. */
  skip,
  accept,
  remove: removeByKey,
  unlink,
  focus: focusRange,
  absorb,
  /** Resolves with the layer version once every edit so far is saved. */
  async idle() {
    flushResize();
    await queue.idle();
    return queue.version;
  },
  /** `ask(why)` resolves with a reason to submit anyway (or "" to give up) when the
   * server refuses the submit for want of one. */
  askReasonOnSubmit(ask) {
    askSubmitReason = ask;
  },
  /** A write the page made outside the editor failed: reload and say why (409 etc.). */
  fail: (error) => onSaveFailure(error),
  notice: (kind, message) => showNotice(kind, message),
};

/**
 * Start the editor on a page. `root`: the element holding the text, one block per line;
 * `text`, `labels`, `layer` (null: the annotator's own layer, fetched) and `config` (the
 * API addresses) from the page's data; `controls`: the elements it drives, by role
 * (saveState, retry, undo, redo, help, helpDialog, submit, notice, selectionPanel,
 * spanPanel, linksList, linksCount, labelButtons, and optionally snap: the "snap to
 * words" checkbox); `confirm(warnings)`: asked before a submit, resolves true to go on.
 * Resolves once the layer is loaded and painted (also as `editor.ready`).
 */
export function init({ root: element, text: documentText, labels: labelTypes, layer, config: pageConfig, controls, confirm }) {
  root = element;
  text = documentText;
  labels = labelTypes;
  config = pageConfig;
  ui = controls;
  if (confirm) confirmSubmit = confirm;
  offsets = new OffsetMap(text);
  spanLabels = labels.filter((label) => label.kind === "span");
  relationLabels = labels.filter((label) => label.kind === "relation");
  labelByName = new Map(labels.map((label) => [label.name, label]));
  colours = new Map(labels.map((label) => [label.name, label.colour]));
  hotkeys = new Map(
    spanLabels.filter((label) => label.hotkey).map((label) => [label.hotkey.toLowerCase(), label]),
  );
  document.head.appendChild(document.createElement("style")).textContent = linkTargetStyle();
  arcs = new ArcLayer(root);
  // The side panel and scrolled-to spans keep clear of the sticky toolbar.
  if (ui.toolbar) {
    const setHeight = () => document.documentElement.style.setProperty("--toolbar-height", `${ui.toolbar.offsetHeight}px`);
    new ResizeObserver(setHeight).observe(ui.toolbar);
  }
  editor.ready = start(layer);
  editor.ready.catch((error) => {
    document.body.dataset.annotator = "failed";
    showNotice("error", `The page could not start: ${error.message}`);
  });
  return editor.ready;
}

async function start(initialLayer) {
  setCsrfToken(document.querySelector("meta[name='csrf-token']").content);
  bindBlocks();
  let layer = initialLayer;
  // No gold layer yet: edit an empty one; the first write makes it (see `save`).
  if (layer === null && config.api.layer) layer = { ...UNSTARTED_LAYER };
  if (layer === null) layer = await request("GET", config.api.mine);
  queue = new SaveQueue({ version: layer.version, send: sendWrites, onState: setSaveState, onFailure: onSaveFailure });
  loadLayer(layer);
  bindControls();
  refresh();
  if (state.readOnly) setSaveState("readonly");
  document.body.dataset.annotator = "ready";
  performance.mark("wb:ready");
}
