// Small DOM helpers shared by the page scripts.

export const byId = (id) => document.getElementById(id);

/** The value of a Django json_script element. */
export const readJson = (id) => JSON.parse(byId(id).textContent);

/** A DOM element; strings among the children become text nodes (never markup). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== false));
  return element;
}

/** Replace an element's children; arrays are flattened, null and false left out. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat(2).filter((child) => child !== null && child !== false));
}

/** Make `parent`'s children exactly `children`, in order, moving only what must move: an
 * element kept stays laid out, where `fill` would take every child out and put it back. */
export function keepChildren(parent, children) {
  const wanted = new Set(children);
  for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
  children.forEach((child, index) => {
    const here = parent.children[index];
    if (here !== child) parent.insertBefore(child, here ?? null);
  });
}

export function shorten(value, limit = 60) {
  return value.length > limit ? `${value.slice(0, limit - 1)}…` : value;
}

/**
 * Open a modal `<dialog>` whose form uses method="dialog"; resolves with the value of the
 * button that closed it ("" for Escape). A "close" event still on its way from an earlier
 * showing (closing queues it) is not taken for this one's answer.
 */
export function showDialog(dialog, focus = null) {
  dialog.returnValue = "";
  return new Promise((resolve) => {
    const closed = () => {
      if (dialog.open) return; // the earlier showing's event: this one is still open
      dialog.removeEventListener("close", closed);
      resolve(dialog.returnValue);
    };
    dialog.addEventListener("close", closed);
    dialog.showModal();
    focus?.focus();
  });
}

/**
 * The editor's controls and panels as the editor templates name them
 * (_editor_controls.html, the label bar and the side panels), for `init` in annotate.js.
 */
export function editorControls() {
  return {
    saveState: byId("save-state"),
    retry: byId("retry-button"),
    undo: byId("undo-button"),
    redo: byId("redo-button"),
    help: byId("help-button"),
    helpDialog: byId("help-dialog"),
    snap: byId("snap-words"),
    toolbar: byId("editor-toolbar"),
    submit: byId("submit-button"),
    notice: byId("notice"),
    selectionPanel: byId("selection-panel"),
    spanPanel: byId("span-panel"),
    linksList: byId("links-list"),
    linksCount: byId("links-count"),
    labelButtons: [...document.querySelectorAll(".label-bar .label-button")],
  };
}
