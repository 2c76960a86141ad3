// The annotation page: the editor on the annotator's own layer, the skip dialog, the
// submit confirmation and active-time reporting.

import "./activity.js";
import { editor, init } from "./annotate.js";
import { byId, editorControls, readJson } from "./dom.js";
import { bindUndoSubmit, confirmSubmit } from "./submitting.js";

function bindSkip() {
  const dialog = byId("skip-dialog");
  byId("skip-button").addEventListener("click", () => dialog.showModal());
  byId("skip-cancel").addEventListener("click", () => dialog.close());
  byId("skip-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const reason = byId("skip-reason").value.trim();
    if (!reason) return;
    dialog.close();
    editor.skip(reason);
  });
}

init({
  root: byId("doc-text"),
  text: readJson("doc-text-data"),
  labels: readJson("labels-data"),
  layer: readJson("layer-data"),
  config: readJson("annotate-config"),
  controls: editorControls(),
  confirm: confirmSubmit,
});
bindSkip();
bindUndoSubmit();
