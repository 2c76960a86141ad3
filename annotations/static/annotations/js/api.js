// Talking to the layer API: JSON over fetch with the session's CSRF token, and a queue
// that saves the page's edits one at a time, each carrying the layer version it expects.

export class ApiError extends Error {
  constructor(status, body) {
    super(ApiError.describe(status, body));
    this.status = status;
    this.body = body ?? {};
  }

  /** One readable line from a DRF error body ({"detail": ...} or {field: [reasons]}). */
  static describe(status, body) {
    if (body && typeof body === "object") {
      if (typeof body.detail === "string") return body.detail;
      const parts = Object.entries(body).map(
        ([field, reasons]) => `${field}: ${[].concat(reasons).join(" ")}`,
      );
      if (parts.length) return parts.join("; ");
    }
    return `The server answered ${status}.`;
  }
}

let csrfToken = "";

export function setCsrfToken(token) {
  csrfToken = token;
}

export async function request(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const raw = await response.text();
  let data = null;
  if (raw) {
    try {
      data = JSON.parse(raw);
    } catch {
      data = { detail: `The server answered ${response.status} with something that is not JSON.` };
    }
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Worth trying again: the network failed, or the server had a passing problem. */
export function isTransient(error) {
  return !(error instanceof ApiError) || error.status >= 500 || error.status === 429;
}

const RETRY_DELAYS = [1000, 2000, 4000, 8000, 15000, 30000];

// The most operations one batch carries (the server's LAYER_OPERATIONS_MAX).
export const BATCH_LIMIT = 500;

/**
 * Runs save operations one after another. An operation is either an async function that
 * takes the layer version and returns the new version (or undefined when it wrote
 * nothing), or a batchable write `{body(), saved(result)}`: `body()` gives the write as
 * one operation of a batch (docs/layer-writes.md), built when it is sent so that it can
 * name what earlier writes made by their ids. Batchable writes queued together, as while
 * a request is in flight, go out as one request through `send(version, bodies)`, which
 * resolves with `{version, spans, links}` (what was made, by ref); each one's `saved`
 * gets that. Transient failures are retried with back-off; any other failure empties the
 * queue and is handed to `onFailure(error)`, whose caller reloads the layer.
 */
export class SaveQueue {
  constructor({ version, send, onState, onFailure }) {
    this.version = version;
    this.send = send;
    this.onState = onState;
    this.onFailure = onFailure;
    this.operations = [];
    this.running = false;
    this.waiting = [];
    this.retryTimer = null;
    this.attempt = 0;
  }

  get pending() {
    return this.operations.length;
  }

  push(operation) {
    this.operations.push(operation);
    if (this.retryTimer === null) this.onState("saving");
    this.run();
  }

  /** Resolves once everything queued so far is saved; rejects if saving fails. */
  idle() {
    if (!this.operations.length && !this.running) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  retryNow() {
    if (this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.run();
  }

  /** Forget everything queued (after a reload) and start again from `version`. */
  reset(version) {
    this.operations = [];
    this.version = version;
  }

  async run() {
    if (this.running || this.retryTimer !== null) return;
    this.running = true;
    while (this.operations.length) {
      const group = this.next();
      try {
        const version = await this.write(group);
        if (version !== undefined) this.version = version;
        this.operations.splice(0, group.length);
        this.attempt = 0;
      } catch (error) {
        this.running = false;
        if (isTransient(error)) {
          const delay = RETRY_DELAYS[Math.min(this.attempt, RETRY_DELAYS.length - 1)];
          this.attempt += 1;
          this.onState("retrying", { error, delay });
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.run();
          }, delay);
          return;
        }
        this.operations = [];
        this.attempt = 0;
        this.settle(error);
        this.onFailure(error);
        return;
      }
    }
    this.running = false;
    this.onState("saved");
    this.settle(null);
  }

  /** What goes out next: a function alone, or the batchable writes at the head. */
  next() {
    const first = this.operations[0];
    if (typeof first === "function") return [first];
    const end = this.operations.findIndex((operation, index) => typeof operation === "function" || index >= BATCH_LIMIT);
    return this.operations.slice(0, end === -1 ? undefined : end);
  }

  async write(group) {
    if (typeof group[0] === "function") return group[0](this.version);
    const result = await this.send(this.version, group.map((write) => write.body()));
    for (const write of group) write.saved?.(result);
    return result.version;
  }

  settle(error) {
    const waiting = this.waiting;
    this.waiting = [];
    for (const { resolve, reject } of waiting) {
      if (error) reject(error);
      else resolve();
    }
  }
}
