// Submitting on the annotation page: a confirmation when the layer looks unfinished, and
// "Undo submit" on a submitted layer while review of the document has not started.

import { request, setCsrfToken } from "./api.js";
import { byId, fill, h, showDialog } from "./dom.js";

/**
 * What looks unfinished in a layer about to be submitted, in words ([] when nothing),
 * among the project's `checks`: "empty" (no span at all) and "unlinked" (spans of a label
 * that starts a link type, a claim linked to its source, with no such link).
 * `relations` hold their head span objects.
 */
export function submitWarnings(spans, relations, labels, checks) {
  const warnings = [];
  if (checks.includes("empty") && spans.length === 0) {
    warnings.push("The layer is empty: you marked nothing in this document.");
  }
  if (!checks.includes("unlinked")) return warnings;
  for (const type of labels) {
    if (type.kind !== "relation" || !type.head_label) continue;
    const heads = new Set(relations.filter((r) => r.type === type.name).map((r) => r.head));
    const unlinked = spans.filter((s) => s.label === type.head_label && !heads.has(s)).length;
    if (unlinked === 0) continue;
    const spansWord = unlinked === 1 ? "span has" : "spans have";
    warnings.push(`${unlinked} ${type.head_label} ${spansWord} no ${type.name} link.`);
  }
  return warnings;
}

/** Ask before submitting when there are warnings; true to go on. No dialog: go on. */
export function confirmSubmit(warnings) {
  const dialog = byId("submit-dialog");
  if (!dialog || warnings.length === 0) return Promise.resolve(true);
  fill(byId("submit-warnings"), warnings.map((text) => h("li", {}, text)));
  return showDialog(dialog, byId("submit-cancel")).then((answer) => answer === "submit");
}

/** The submitted page's "Undo submit": open the layer again, then show it editable. */
export function bindUndoSubmit() {
  const button = byId("unsubmit-button");
  if (!button) return;
  setCsrfToken(document.querySelector("meta[name='csrf-token']").content);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await request("POST", button.dataset.url, { version: Number(button.dataset.version) });
      window.location.reload();
    } catch (error) {
      button.disabled = false;
      const notice = byId("notice");
      notice.textContent = `Not undone: ${error.message}`;
      notice.hidden = false;
    }
  });
}

