// Document-level labels (an article's stance, its topics): one fieldset per label in the
// side panel, radio buttons for a single choice, checkboxes for several. Each change
// saves that label's values through the editor's save queue, with the layer version, like
// a span edit; a reload of the layer (after a 409, a merge, a reopen) redraws the panel
// from what the server holds. Loaded beside annotate.js on the annotation and review pages.

import { request } from "./api.js";
import { editor } from "./annotate.js";
import { byId, fill, h, readJson } from "./dom.js";

const panel = byId("document-labels-panel");
const documentLabels = readJson("labels-data").filter((label) => label.kind === "document");
// What the page shows: label name -> values, kept in step with the saves queued.
let shown = {};

function labelUrl(name) {
  return `/api/layers/${editor.layerId}/document-labels/${encodeURIComponent(name)}/`;
}

function save(name, values) {
  shown = { ...shown, [name]: values };
  // The URL is taken when the write runs: a gold layer not made yet has its id by then.
  editor.save(async (version) => (await request("PUT", labelUrl(name), { values, version })).version);
}

function choose(label, value, checked) {
  const before = shown[label.name] ?? [];
  let values;
  if (!label.multiple) values = checked && value !== null ? [value] : [];
  else if (checked) values = label.choices.filter((choice) => choice === value || before.includes(choice));
  else values = before.filter((choice) => choice !== value);
  save(label.name, values);
}

function option(label, value, text, checked) {
  const input = h("input", {
    type: label.multiple ? "checkbox" : "radio",
    name: `document-label-${label.name}`,
    value: value ?? "",
    checked,
    disabled: editor.readOnly,
    dataset: { documentLabel: label.name },
    onchange: (event) => choose(label, value, event.target.checked),
  });
  return h("label", { class: "document-choice" }, input, ` ${text}`);
}

function fieldset(label) {
  const given = shown[label.name] ?? [];
  const options = label.choices.map((choice) => option(label, choice, choice, given.includes(choice)));
  if (!label.multiple) options.push(option(label, null, "not set", !given.length));
  return h(
    "fieldset",
    { class: "attribute document-label", title: label.description || null },
    h("legend", {}, label.name, label.multiple ? h("span", { class: "muted small" }, " (any number)") : null),
    options,
  );
}

function render() {
  fill(
    panel,
    h("h2", {}, panel.dataset.heading ?? "Document"),
    documentLabels.map(fieldset),
    editor.readOnly ? h("p", { class: "muted small" }, "Read-only: the layer is submitted.") : null,
  );
}

if (panel && documentLabels.length) {
  panel.hidden = false;
  editor.onLoad((layer) => {
    shown = { ...(layer.document_labels ?? {}) };
    render();
  });
}
