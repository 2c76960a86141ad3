// The documents page while an import runs: poll the job's API address, move the progress
// bar, and once the job has finished reload the page, which shows its outcome (counts or
// bad lines) and the documents it brought. Without this script the refresh link does it.

import { request } from "./api.js";
import { byId } from "./dom.js";

const POLL_MS = 1000;
const FINISHED = new Set(["succeeded", "failed"]);

const box = byId("import-job");
const bar = byId("import-progress");
const status = byId("import-status");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function follow() {
  for (;;) {
    await sleep(POLL_MS);
    let job;
    try {
      job = await request("GET", box.dataset.jobUrl);
    } catch {
      continue; // a missed poll: the next one tries again
    }
    const percent = Math.round(100 * job.progress);
    bar.value = percent;
    bar.textContent = `${percent}%`;
    status.textContent = `${job.status}, ${percent}%`;
    if (FINISHED.has(job.status)) {
      window.location.reload();
      return;
    }
  }
}

if (box && bar && !FINISHED.has(box.dataset.status)) follow();
