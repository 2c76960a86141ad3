// The review page: the annotators' candidates in tables, the gold layer in the editor
// (annotate.js, started here). Accepting a candidate copies it into gold through the editor, so it is
// saved through the layer API, versioned and undoable like any edit; rejecting leaves it
// out (and takes it out of gold if it was there). Both are also stored as the reviewers'
// decisions (the decisions API), shared by every reviewer of the project and audited.
// Merge by vote and reopen call the API. The curation view (curation.js) shows each
// annotator's layer under the gold text; a click there accepts through the same functions.

import { ApiError, request } from "./api.js";
import { editor, init } from "./annotate.js";
import { createCuration } from "./curation.js";
import { byId, editorControls, readJson, showDialog } from "./dom.js";

const config = readJson("annotate-config");
const data = readJson("review-data");
const candidateRows = [...document.querySelectorAll("#candidate-table tr[data-candidate]")];
const linkRows = [...document.querySelectorAll("#link-table tr[data-link]")];
const linkKey = (link) => `${link.type}|${link.head}|${link.tail}`;
const spansByKey = new Map(data.candidates.map((candidate) => [candidate.key, candidate]));
const linksByKey = new Map(data.links.map((link) => [link.key, link]));
let curation = null;

// The reviewers' decisions on this document, key -> "accept" | "reject", as the server
// holds them, and their version (a decision on an older one is refused: 409).
const decisions = new Map();
let decisionsVersion = null;
const isRejected = (key) => decisions.get(key) === "reject";

function absorbDecisions(body) {
  decisions.clear();
  for (const item of body.decisions) decisions.set(item.key, item.decision);
  decisionsVersion = body.version;
}

async function loadDecisions() {
  absorbDecisions(await request("GET", config.api.decisions));
}

async function decisionFailed(error) {
  if (error instanceof ApiError && error.status === 409) {
    await loadDecisions();
    render();
    editor.notice(
      "error",
      "Another reviewer decided on this document meanwhile: the table shows their decisions now. " +
        "Decide again if you still mean to.",
    );
  } else editor.notice("error", `Not saved: ${error.message}`);
}

/** Store a decision; false when the server refused it (the page says why). */
async function decide(key, decision, extra = {}) {
  try {
    const body = { key, decision, version: decisionsVersion, ...extra };
    absorbDecisions(await request("POST", config.api.decisions, body));
    return true;
  } catch (error) {
    await decisionFailed(error);
    return false;
  }
}

async function undoDecision(key) {
  try {
    absorbDecisions(await request("POST", config.api.undo, { key, version: decisionsVersion }));
    render();
  } catch (error) {
    await decisionFailed(error);
  }
}

/** Show a yes/no dialog of the page; resolves true when the reviewer confirms. */
function ask(name, text) {
  const dialog = byId(`${name}-dialog`);
  byId(`${name}-text`).textContent = text;
  return showDialog(dialog).then((answer) => answer === "yes");
}

async function askReason(why) {
  byId("final-reason").value = "";
  return (await ask("final", `${why}.`)) ? byId("final-reason").value.trim() : "";
}

function sameAttrs(a, b) {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

function attrsText(attrs) {
  const names = Object.keys(attrs).sort();
  if (names.length === 1) return String(attrs[names[0]]);
  return names.map((name) => `${name}=${attrs[name]}`).join(" · ");
}

/** A variant (or a gold span): its attributes, then its entry's name and stance. */
function variantText({ attrs = {}, entry = null, stance = "" }) {
  const entryName = entry ? (data.entries?.[entry] ?? entry) : "";
  return [attrsText(attrs), entryName, stance].filter(Boolean).join(" · ");
}

/** The same attributes, entry and stance (a span with none has entry null, stance ""). */
function sameVariant(span, variant) {
  return (
    sameAttrs(span.attrs, variant.attrs) &&
    (span.entry ?? null) === (variant.entry ?? null) &&
    (span.stance ?? "") === (variant.stance ?? "")
  );
}

function goldCell(row, inGold, rejected, span) {
  const cell = row.querySelector("[data-gold]");
  if (inGold) {
    cell.replaceChildren("✓");
    const text = span ? variantText(span) : "";
    if (text) {
      const shown = document.createElement("span");
      shown.className = "attrs";
      shown.textContent = text;
      cell.append(shown);
    }
  } else if (rejected) {
    const undo = document.createElement("button");
    undo.type = "button";
    undo.className = "link undo-decision edit-only";
    undo.textContent = "undo";
    undo.title = "Take the rejection back: the candidate is open again";
    cell.replaceChildren("rejected ", undo);
  } else {
    cell.replaceChildren("");
  }
}

function applyFilter(row, settled) {
  const filter = byId("candidate-filter")?.value ?? "all";
  row.hidden =
    (filter === "disputed" && !row.classList.contains("disputed")) || (filter === "open" && settled);
}

/** Mark every row in gold, rejected or open, from the gold layer as it stands. */
function render() {
  const gold = editor.content();
  const goldSpans = new Map(gold.spans.map((span) => [span.key, span]));
  const goldLinks = new Set(gold.links.map(linkKey));
  let settled = 0;
  let disputesLeft = 0;
  for (const row of candidateRows) {
    const candidate = data.candidates[Number(row.dataset.candidate)];
    const inGold = goldSpans.get(candidate.key);
    const rejected = !inGold && isRejected(candidate.key);
    row.classList.toggle("in-gold", Boolean(inGold));
    row.classList.toggle("rejected", rejected);
    goldCell(row, inGold, rejected, inGold);
    for (const button of row.querySelectorAll("button.accept")) {
      const variant = candidate.variants[Number(button.dataset.variant)];
      // In gold already: only attributes and links other than gold's are left to choose.
      button.hidden = Boolean(inGold) && sameVariant(inGold, variant);
      button.dataset.text ??= button.textContent;
      button.textContent = inGold ? `Use ${variantText(variant) || "no attributes"}` : button.dataset.text;
    }
    row.querySelector("button.reject").hidden = rejected;
    const isSettled = Boolean(inGold) || rejected;
    if (isSettled) settled++;
    else if (row.classList.contains("disputed")) disputesLeft++;
    applyFilter(row, isSettled);
  }
  for (const row of linkRows) {
    const link = data.links[Number(row.dataset.link)];
    const inGold = goldLinks.has(linkKey(link));
    const rejected = !inGold && isRejected(link.key);
    row.classList.toggle("in-gold", inGold);
    row.classList.toggle("rejected", rejected);
    goldCell(row, inGold, rejected);
    row.querySelector("button.accept").hidden = inGold;
    row.querySelector("button.reject").hidden = rejected;
  }
  curation?.render({
    goldSpans: new Map([...goldSpans].map(([key, span]) => [key, span.attrs])),
    goldLinks,
    isRejected,
  });
  const count = byId("settled-count");
  if (count && candidateRows.length) {
    count.textContent =
      `${settled} of ${candidateRows.length} settled (in gold or rejected)` +
      (disputesLeft ? `; ${disputesLeft} disagreement${disputesLeft === 1 ? "" : "s"} left.` : ".");
  }
  byId("gold-count").textContent = `${gold.spans.length} span${gold.spans.length === 1 ? "" : "s"}`;
  const status = editor.readOnly ? "final" : "in_progress";
  byId("gold-status").textContent = status.replace("_", " ");
  byId("gold-status").dataset.status = status;
}

function readOnlyNotice() {
  editor.notice("info", "The gold layer is final: reopen it to change it.");
}

let current = null; // the candidate row shown last

function show(row) {
  current?.classList.remove("current");
  current = row;
  row.classList.add("current");
  row.scrollIntoView({ block: "nearest" });
  editor.focus(data.candidates[Number(row.dataset.candidate)]);
}

/** The next row, after the one shown last, that is neither in gold nor rejected. */
function showNextOpen() {
  const start = current ? candidateRows.indexOf(current) + 1 : 0;
  const order = [...candidateRows.slice(start), ...candidateRows.slice(0, start)];
  const next = order.find(
    (row) => !row.hidden && !row.classList.contains("in-gold") && !row.classList.contains("rejected"),
  );
  if (next) show(next);
  else editor.notice("info", "Every candidate is settled: in gold or rejected.");
}

function bindCandidates() {
  byId("next-open")?.addEventListener("click", showNextOpen);
  for (const row of candidateRows) {
    const candidate = data.candidates[Number(row.dataset.candidate)];
    row.querySelector("button.focus").addEventListener("click", () => show(row));
    for (const button of row.querySelectorAll("button.accept")) {
      button.addEventListener("click", () => acceptSpan(candidate, candidate.variants[Number(button.dataset.variant)]));
    }
    row.querySelector("button.reject").addEventListener("click", async () => {
      if (editor.readOnly) return readOnlyNotice();
      if (!(await decide(candidate.key, "reject"))) return;
      if (!editor.remove(candidate.key)) render();
    });
  }
  for (const row of linkRows) {
    const link = data.links[Number(row.dataset.link)];
    row.querySelector("button.accept").addEventListener("click", () => acceptLink(link));
    row.querySelector("button.reject").addEventListener("click", async () => {
      if (editor.readOnly) return readOnlyNotice();
      if (!(await decide(link.key, "reject"))) return;
      if (!editor.unlink(link)) render();
    });
  }
  for (const table of document.querySelectorAll("#candidate-table, #link-table")) {
    table.addEventListener("click", (event) => {
      const button = event.target.closest("button.undo-decision");
      if (!button) return;
      const row = button.closest("tr");
      const key = row.dataset.candidate !== undefined
        ? data.candidates[Number(row.dataset.candidate)].key
        : data.links[Number(row.dataset.link)].key;
      undoDecision(key);
    });
  }
  byId("candidate-filter")?.addEventListener("change", render);
}

/** Accept a span candidate into gold with these attributes, and store the decision. */
/** Accept a span candidate with one annotator's reading of it ({attrs, entry, stance}). */
async function acceptSpan(candidate, variant) {
  if (editor.readOnly) return readOnlyNotice();
  if (!(await decide(candidate.key, "accept"))) return;
  if (!editor.accept({ spans: [{ ...candidate, ...variant }] })) render();
}

/** Accept a link; an end span that is rejected or not in gold comes in only when the
 * reviewer says so in the dialog, never silently. */
async function acceptLink(link) {
  if (editor.readOnly) return readOnlyNotice();
  const inGold = new Set(editor.content().spans.map((span) => span.key));
  const missing = [link.head, link.tail].filter((key) => !inGold.has(key) || isRejected(key));
  if (missing.length) {
    const ends = missing.map((key) => {
      const end = spansByKey.get(key);
      return `${end.label} “${end.quote}” ${isRejected(key) ? "is rejected" : "is not in gold"}`;
    });
    const question = `The link's end ${ends.join(", and ")}. Accept ${missing.length === 1 ? "that span" : "those spans"} into gold too?`;
    if (!(await ask("ends", question))) return;
  }
  // The server checks the ends against gold as saved: let the editor's writes land first.
  await editor.idle();
  if (!(await decide(link.key, "accept", { with_ends: missing.length > 0 }))) return;
  // The ends that gold lacks come in with it, with their most common attributes and link.
  const spans = missing
    .filter((key) => !inGold.has(key))
    .map((key) => ({ ...spansByKey.get(key), ...(spansByKey.get(key).variants[0] ?? { attrs: {} }) }));
  if (!editor.accept({ spans, links: [link] })) render();
}

async function merge(event) {
  event.preventDefault();
  const button = byId("merge-button");
  button.disabled = true;
  try {
    const before = editor.content();
    const version = await editor.idle();
    const minVotes = Number(byId("min-votes").value);
    const layer = await request("POST", config.api.merge, { min_votes: minVotes, version });
    editor.absorb(layer, { additions: true });
    const spans = layer.spans.length - before.spans.length;
    const links = layer.relations.length - before.links.length;
    const { annotators, min_votes: needed } = layer.merge;
    editor.notice(
      "info",
      `Merged by vote (at least ${needed} of ${annotators}): ${spans} span${spans === 1 ? "" : "s"} and ` +
        `${links} link${links === 1 ? "" : "s"} added to gold. Undo (Ctrl+Z) takes them out again.`,
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) editor.fail(error);
    else editor.notice("error", `Not merged: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function reopenAnnotator(lane, button) {
  const name = lane.dataset.annotator;
  button.disabled = true;
  try {
    const layer = await request("POST", `${config.api.layers}${lane.dataset.layer}/reopen/`, {
      version: Number(lane.dataset.version),
    });
    lane.dataset.version = layer.version;
    lane.classList.replace("status-submitted", "status-open");
    const status = lane.querySelector("[data-status]");
    status.textContent = "Open";
    status.className = "status status-open";
    const note = document.createElement("span");
    note.className = "small";
    note.textContent = `Reopened: ${name} can edit the layer again; it stops counting here until resubmitted.`;
    button.replaceWith(note);
  } catch (error) {
    button.disabled = false;
    const why = error instanceof ApiError && error.status === 409
      ? `${name}'s layer changed since this page was loaded; reload the page.`
      : error.message;
    editor.notice("error", `Not reopened: ${why}`);
  }
}

async function reopenGold() {
  const button = byId("reopen-gold");
  button.disabled = true;
  try {
    const version = await editor.idle();
    const layer = await request("POST", `${config.api.layers}${editor.layerId}/reopen/`, { version });
    editor.absorb(layer);
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) editor.fail(error);
    else editor.notice("error", `Not reopened: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

/** The side panel's tabs (spans, links): one list at a time, arrow keys move between. */
function bindTabs() {
  const tabs = [...document.querySelectorAll(".review-tabs [role=tab]")];
  const choose = (chosen) => {
    for (const tab of tabs) {
      const selected = tab === chosen;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      byId(tab.getAttribute("aria-controls")).hidden = !selected;
    }
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => choose(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(index + step + tabs.length) % tabs.length];
      choose(next);
      next.focus();
      event.preventDefault();
    });
  });
}

function bindDialogs() {
  byId("ends-cancel").addEventListener("click", () => byId("ends-dialog").close());
  byId("final-cancel").addEventListener("click", () => byId("final-dialog").close());
  editor.askReasonOnSubmit(askReason);
}

async function start() {
  await init({
    root: byId("doc-text"),
    text: readJson("doc-text-data"),
    labels: readJson("labels-data"),
    layer: readJson("layer-data"),
    config,
    controls: editorControls(),
  });
  await loadDecisions();
  bindDialogs();
  editor.onChange(render);
  bindCandidates();
  byId("merge-form").addEventListener("submit", merge);
  for (const button of document.querySelectorAll("[data-reopen]")) {
    button.addEventListener("click", () => reopenAnnotator(button.closest(".lane"), button));
  }
  byId("reopen-gold").addEventListener("click", reopenGold);
  bindTabs();
  if (byId("curation-rows")) {
    curation = createCuration({
      text: readJson("doc-text-data"),
      labels: readJson("labels-data"),
      data: readJson("curation-data"),
      onSpan: (key, reading) => acceptSpan(spansByKey.get(key), reading),
      onLink: (key) => acceptLink(linksByKey.get(key)),
    });
  }
  render();
  document.body.dataset.review = "ready";
}

start().catch((error) => {
  document.body.dataset.review = "failed";
  editor.notice("error", `The review page could not start: ${error.message}`);
});
