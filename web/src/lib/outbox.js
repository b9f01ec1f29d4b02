// Sends that failed for want of a network, sent again by themselves once
// the connection is back: on the "online" event, and when the page becomes
// visible again with a network (a phone put away while offline). Each queued
// send runs once per return of the connection (it is taken off the queue
// before it runs; a send that fails offline again queues itself again), and
// the forms send it with the same Idempotency-Key as the first try
// (newRequestKey), so a first try that did reach the server is not made twice.
const queued = new Map(); // name → send()

function flush() {
  if (!navigator.onLine) return;
  for (const [name, send] of [...queued]) {
    queued.delete(name);
    send();
  }
}
addEventListener("online", flush);
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && flush());

// A send can fail for want of a network while the browser believes it is
// online (no "online" event will come: a flaky link, a connection still
// coming up after a reload): then the queue is tried again after a pause
// that doubles from 2 s up to a minute, until it empties.
let retryMs = 0;
let retryTimer = 0;
function retryLater() {
  if (retryTimer || !queued.size) return;
  retryMs = Math.min(retryMs ? retryMs * 2 : 2000, 60000);
  retryTimer = setTimeout(() => {
    retryTimer = 0;
    flush();
    if (!queued.size) retryMs = 0;
  }, retryMs);
}

/** queueSend keeps send() (one per name: the latest) to run once the connection is back. */
export function queueSend(name, send) {
  queued.set(name, send);
  if (navigator.onLine) retryLater();
}

/** dropSend forgets a queued send (the form was sent by hand, or cancelled). */
export function dropSend(name) {
  queued.delete(name);
}

/** newRequestKey is a random Idempotency-Key (128 bits, hex), for one request and its retries. */
export function newRequestKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
