// The catalogue picker in the span panel: link the selected claim to a proposition (with
// its stance) or a source to a source entity (docs/catalogues.md).
//
// The editor asks `linkPicker(span, label, options)` for the panel's part; it gets the
// same element back for the same span while the span's link is unchanged, so a search
// being typed survives the panel's repaints. The picker never writes itself: it calls
// `options.setLink(entry, stance)`, which the editor turns into an undoable span update
// saved through the layer's queue, like an attribute.
//
// Entries come from the catalogue API ranked by similarity to the span's text; typing
// filters them (every word must appear in the name or key), arrows move, Enter links the
// highlighted entry, and "Propose" makes a new entry from the typed name (proposed for an
// annotator: only they and the reviewers see it until a reviewer approves it).

import { request } from "./api.js";
import { fill, h } from "./dom.js";

const SHOWN = 8;
const NOUNS = { proposition: "proposition", source: "source entity" };

let current = null; // {spanKey, entry, stance, element, ...}: the picker on show

/** The picker for `span` (a span of `label`, which links to a catalogue), or null. */
export function linkPicker(span, label, { url, readOnly, setLink }) {
  if (!label?.catalogue || !url) return null;
  if (current && current.spanKey === span.key && current.entry === span.entry && current.stance === span.stance) {
    current.setLink = setLink;
    return current.element;
  }
  current = createPicker(span, label, url, readOnly, setLink);
  return current.element;
}

function createPicker(span, label, url, readOnly, setLink) {
  const kind = label.catalogue;
  const picker = {
    spanKey: span.key,
    entry: span.entry ?? null,
    stance: span.stance ?? "",
    setLink,
    entries: [],
    highlighted: 0,
    element: null,
  };
  const input = h("input", {
    type: "search",
    class: "picker-search",
    placeholder: `Find a ${NOUNS[kind]}…`,
    "aria-label": `Find a ${NOUNS[kind]}`,
    autocomplete: "off",
    disabled: readOnly,
  });
  const list = h("ul", { class: "picker-entries", role: "listbox", "aria-label": `${NOUNS[kind]} entries` });
  const chosen = h("p", { class: "picker-chosen" });
  const stances = label.stance_values?.length
    ? h(
        "div",
        { class: "picker-stances", role: "group", "aria-label": "Stance" },
        label.stance_values.map((value) =>
          h(
            "button",
            {
              type: "button",
              class: "toggle",
              "data-stance": value,
              "aria-pressed": picker.stance === value ? "true" : "false",
              disabled: readOnly || !picker.entry,
              onclick: () => picker.setLink(picker.entry, picker.stance === value ? "" : value),
            },
            value,
          ),
        ),
      )
    : null;
  const propose = h(
    "button",
    { type: "button", class: "secondary small-button picker-propose", disabled: readOnly },
    `Propose new ${NOUNS[kind]}`,
  );
  const status = h("p", { class: "muted small picker-status", role: "status" });
  picker.element = h(
    "fieldset",
    { class: "catalogue-picker", "data-catalogue": kind },
    h("legend", {}, kind === "proposition" ? "Proposition" : "Source entity"),
    chosen,
    stances,
    readOnly ? null : [input, list, propose],
    status,
  );

  const words = () => input.value.toLowerCase().split(/\s+/).filter(Boolean);
  const visible = () => {
    const wanted = words();
    return picker.entries
      .filter((entry) => wanted.every((word) => `${entry.name} ${entry.key}`.toLowerCase().includes(word)))
      .slice(0, SHOWN);
  };
  const showChosen = () => {
    const entry = picker.entries.find((item) => item.key === picker.entry);
    fill(
      chosen,
      picker.entry
        ? [
            "Linked to ",
            h("strong", { "data-entry": picker.entry }, entry ? entry.name : picker.entry),
            entry?.status === "proposed" ? h("span", { class: "muted small" }, " (proposed)") : null,
            readOnly
              ? null
              : h("button", { type: "button", class: "secondary small-button picker-unlink", onclick: () => picker.setLink(null, "") }, "Unlink"),
          ]
        : h("span", { class: "muted" }, `Not linked to a ${NOUNS[kind]}.`),
    );
  };
  const render = () => {
    const shown = visible();
    picker.highlighted = Math.min(picker.highlighted, Math.max(shown.length - 1, 0));
    fill(
      list,
      shown.map((entry, index) =>
        h(
          "li",
          {
            role: "option",
            "data-entry": entry.key,
            "aria-selected": index === picker.highlighted ? "true" : "false",
            class: entry.key === picker.entry ? "linked" : null,
            onmousedown: (event) => event.preventDefault(),
            onclick: () => choose(entry),
          },
          entry.name,
          entry.status === "proposed" ? h("span", { class: "muted small" }, " proposed") : null,
        ),
      ),
    );
    showChosen();
  };
  const choose = (entry) => {
    if (!entry || readOnly) return;
    // A source takes no stance; a proposition keeps the stance already chosen.
    picker.setLink(entry.key, entry.key === picker.entry ? picker.stance : "");
  };

  input.addEventListener("input", () => {
    picker.highlighted = 0;
    render();
  });
  input.addEventListener("keydown", (event) => {
    const shown = visible();
    if (event.key === "ArrowDown") picker.highlighted = Math.min(picker.highlighted + 1, shown.length - 1);
    else if (event.key === "ArrowUp") picker.highlighted = Math.max(picker.highlighted - 1, 0);
    else if (event.key === "Enter") choose(shown[picker.highlighted]);
    else if (event.key === "Escape") input.blur();
    else return;
    event.preventDefault();
    event.stopPropagation();
    render();
  });
  propose.addEventListener("click", async () => {
    const name = input.value.trim() || span.quote.trim().slice(0, 500);
    propose.disabled = true;
    try {
      const entry = await request("POST", url, { kind, name });
      picker.entries.unshift(entry);
      status.textContent = `Proposed "${entry.name}"${entry.status === "proposed" ? ": a reviewer approves it" : ""}.`;
      choose(entry);
    } catch (error) {
      status.textContent = `Not proposed: ${error.message}`;
    } finally {
      propose.disabled = false;
    }
  });

  showChosen();
  const query = new URLSearchParams({ kind, q: span.quote, limit: "200" });
  request("GET", `${url}?${query}`)
    .then((entries) => {
      picker.entries = entries;
      render();
      picker.element.dataset.loaded = "true";
    })
    .catch((error) => {
      status.textContent = `The catalogue could not load: ${error.message}`;
    });
  return picker;
}
