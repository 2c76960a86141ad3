// The agreement page: start a run through the API, then poll it and move the progress bar;
// reload the page when the run has finished so that the new figures show.

import { request, setCsrfToken } from "./api.js";

const POLL_MS = 1000;
const panel = document.getElementById("run-panel");
const button = document.getElementById("start-run");
const progress = document.getElementById("run-progress");
const bar = document.getElementById("run-bar");
const statusText = document.getElementById("run-status");
const warning = document.getElementById("run-warning");
const failure = document.getElementById("run-error");

setCsrfToken(panel.querySelector("input[name=csrfmiddlewaretoken]").value);

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

async function poll(url) {
  progress.hidden = false;
  button.disabled = true;
  for (;;) {
    let run;
    try {
      run = await request("GET", url);
    } catch (error) {
      show(statusText, `Cannot read the run: ${error.message}. Trying again…`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS * 3));
      continue;
    }
    bar.value = run.progress;
    show(statusText, `Run #${run.id} ${run.status} (${Math.round(run.progress * 100)}%)`);
    if (run.status === "succeeded") {
      window.location.reload();
      return;
    }
    if (run.status === "failed") {
      show(failure, `Run #${run.id} failed: ${run.error}`);
      button.disabled = false;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

button.addEventListener("click", async () => {
  button.disabled = true;
  show(failure, "");
  try {
    const run = await request("POST", panel.dataset.startUrl, { parameters: {} });
    show(warning, run.warning || "");
    await poll(run.url);
  } catch (error) {
    show(failure, `The run could not start: ${error.message}`);
    button.disabled = false;
  }
});

if (panel.dataset.runUrl) poll(panel.dataset.runUrl);
