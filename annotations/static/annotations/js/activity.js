// Active time on the annotation page: the seconds spent with the page visible and focused
// while the annotator is working, i.e. with an edit, a key press or a text selection in
// the last minute. Reported to the server every 30 s and when the page is left; the
// server adds them to the annotator's own assignment (capped), for the dashboard's
// median time per document. Wall time is never sent.

import { readJson } from "./dom.js";

const IDLE_AFTER_MS = 60_000; // no edit or selection for this long: not active
const TICK_MS = 1000;
const REPORT_EVERY_MS = 30_000;

const config = readJson("annotate-config");
const url = config?.api?.activity;

if (url) {
  const csrfToken = document.querySelector("meta[name='csrf-token']")?.content ?? "";
  let lastWork = performance.now();
  let lastTick = performance.now();
  let unsent = 0; // active milliseconds not reported yet

  const working = () => {
    lastWork = performance.now();
  };
  for (const type of ["keydown", "pointerdown", "input", "change"]) {
    document.addEventListener(type, working, { capture: true, passive: true });
  }
  document.addEventListener("selectionchange", () => {
    if (!getSelection().isCollapsed) working();
  });

  setInterval(() => {
    const now = performance.now();
    // A throttled timer (a busy machine, a background tab) never counts more than a tick.
    const elapsed = Math.min(now - lastTick, 2 * TICK_MS);
    lastTick = now;
    const active =
      document.visibilityState === "visible" && document.hasFocus() && now - lastWork <= IDLE_AFTER_MS;
    if (active) unsent += elapsed;
  }, TICK_MS);

  const report = () => {
    const seconds = Math.round(unsent / 100) / 10;
    if (seconds <= 0) return;
    unsent = 0;
    // keepalive: the request outlives the page when the annotator leaves it.
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ seconds }),
    }).catch(() => {}); // a lost report loses a few seconds of a statistic, nothing more
  };
  setInterval(report, REPORT_EVERY_MS);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") report();
  });
  window.addEventListener("pagehide", report);
}
