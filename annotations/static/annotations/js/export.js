// The dashboard's export panel: start an export through the API with the form's choices,
// follow the job until it finishes, then offer its archive with its size and checksum.
// The list of recent exports is rendered by the server; when a job starts or finishes this
// script reads the page again and swaps in the server's fresh list.

import { ApiError, isTransient, request, setCsrfToken } from "./api.js";
import { byId } from "./dom.js";

const POLL_MS = 1000;
const RETRY_MS = 3000;
const FINISHED = new Set(["succeeded", "failed"]);

const panel = byId("export-panel");
const form = byId("export-form");
const button = byId("start-export");
const splitBox = byId("export-split");
const splitFields = byId("split-fields");
const job = {
  box: byId("export-job"),
  bar: byId("export-progress"),
  status: byId("export-status"),
  warning: byId("export-warning"),
  error: byId("export-error"),
  result: byId("export-result"),
  download: byId("export-download"),
  size: byId("export-size"),
  checksum: byId("export-checksum"),
};

setCsrfToken(form.querySelector("input[name=csrfmiddlewaretoken]").value);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

/** Bytes the way Django's filesizeformat writes them, so the panel and the list agree. */
function formatSize(bytes) {
  if (bytes < 1024) return `${bytes}\u00a0byte${bytes === 1 ? "" : "s"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)}\u00a0${units[unit]}`;
}

/** A number input's value; null when blank or not a number, for the API to name. */
function numberIn(name) {
  const value = form.elements[name].valueAsNumber;
  return Number.isNaN(value) ? null : value;
}

/** The POST body: the format and the options as the export API names them. */
function exportRequest() {
  const data = new FormData(form);
  const options = {
    layers: data.get("layers"),
    include_meta: data.has("include_meta"),
    pseudonymise: data.has("pseudonymise"),
    final_gold_only: data.has("final_gold_only"),
    alignment: data.get("alignment"),
  };
  const labels = data.getAll("labels");
  // Every box ticked means every label, including any the project gains later.
  if (labels.length < form.querySelectorAll("input[name=labels]").length) {
    options.labels = labels;
  }
  if (splitBox.checked) {
    options.split = {
      seed: numberIn("seed"),
      train: numberIn("train"),
      dev: numberIn("dev"),
      test: numberIn("test"),
    };
  }
  return { format: data.get("format"), options };
}

function clearErrors() {
  for (const slot of form.querySelectorAll(".field-error")) show(slot, "");
  for (const field of form.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

/** A 400 body ({field: [reasons]}): each reason beside its field, the rest under the button. */
function showErrors(body) {
  const general = [];
  for (const [field, reasons] of Object.entries(body)) {
    const text = [].concat(reasons).join(" ");
    const slot = form.querySelector(`.field-error[data-errors-for="${CSS.escape(field)}"]`);
    if (slot && field) {
      show(slot, text);
      slot.closest("fieldset").setAttribute("aria-invalid", "true");
    } else {
      general.push(field === "detail" || field === "options" ? text : `${field}: ${text}`);
    }
  }
  show(byId("export-form-error"), general.join(" "));
}

function render(current) {
  const percent = Math.round(current.progress * 100);
  const retrying = current.status === "queued" && current.error ? ` (${current.error})` : "";
  job.box.dataset.status = current.status;
  job.bar.value = current.progress;
  show(job.status, `Export #${current.id} (${current.format}) ${current.status}, ${percent}%${retrying}`);
  if (current.status !== "queued") show(job.warning, "");
  show(job.error, current.status === "failed" ? `Export #${current.id} failed: ${current.error}` : "");
  job.result.hidden = current.status !== "succeeded" || !current.download_url;
  if (!job.result.hidden) {
    job.download.href = current.download_url;
    job.download.textContent = `Download export #${current.id} (zip)`;
    job.size.textContent = `${formatSize(current.size)} (${current.size.toLocaleString("en")} bytes)`;
    job.checksum.textContent = current.checksum;
  }
}

/** The job as the API has it now; passing trouble (network, 5xx) is waited out. */
async function readJob(url) {
  for (;;) {
    try {
      return await request("GET", url);
    } catch (error) {
      if (!isTransient(error)) throw error;
      show(job.status, `Cannot read the export (${error.message}); trying again…`);
      await sleep(RETRY_MS);
    }
  }
}

/** Replace the recent exports with the server's current list (a plain GET of this page). */
async function refreshRecentExports() {
  const list = byId("recent-exports-list");
  try {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("recent-exports-list");
    if (fresh) list.replaceChildren(...fresh.childNodes);
  } catch {
    // The list stays as it was; its "refresh" link reloads the page.
  }
}

/** Poll a job until it finishes; `started` is the POST's answer when we just started it. */
async function follow(url, started) {
  button.disabled = true;
  job.box.hidden = false;
  if (started) show(job.warning, started.warning || "");
  try {
    let current = started ?? (await readJob(url));
    for (;;) {
      render(current);
      if (FINISHED.has(current.status)) {
        await refreshRecentExports();
        break;
      }
      await sleep(POLL_MS);
      current = await readJob(url);
    }
  } catch (error) {
    show(job.error, `Cannot follow the export: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  button.disabled = true;
  let started;
  try {
    started = await request("POST", panel.dataset.listUrl, exportRequest());
  } catch (error) {
    const body = error instanceof ApiError && Object.keys(error.body).length ? error.body : null;
    showErrors(body ?? { detail: `The export could not start: ${error.message}` });
    button.disabled = false;
    return;
  }
  job.result.hidden = true;
  refreshRecentExports();
  await follow(`${panel.dataset.listUrl}${started.id}/`, started);
});

splitBox.addEventListener("change", () => {
  splitFields.disabled = !splitBox.checked;
});
// The browser may restore the box's state on going back to the page.
splitFields.disabled = !splitBox.checked;

if (panel.dataset.jobUrl) follow(panel.dataset.jobUrl);
