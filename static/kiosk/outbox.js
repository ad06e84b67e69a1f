/* The outbox: every answer goes to localStorage first and leaves it only once the server
   has settled it, so that neither a network drop, a slow server nor a reload loses it.
   Each carries one client_submission_id: sending it again (a retry after a lost reply, a
   second tap) is stored once, and the server answers 200 with the same response. Each is
   kept and sent with every field main.js gave it, its card's ticket too: that lets the
   answer in after the tablet was paired at another agency (an entry from before tickets
   has none, and is judged as before).

   One delivery round at a time, in order. A reply settles its own entry and is announced
   to onSettled listeners with that entry's id: what the screen does with it is for the
   screen to decide (main.js), never for the outbox.

   Only the server's own replies settle an answer: stored is a 2xx carrying a response_id;
   refused for good is a 4xx whose JSON names one of the server's final error codes. Any
   other reply (a captive portal's 200 page, a proxy's 404 or 502) is a server problem: the
   answer stays and goes again next round. */
import { KEYS, ServerTimeout, api, load, save, sleep } from "./util.js";
import { drawStatus, noteRefused, reportNetwork, reportOk, reportServer, reportStalled } from "./status.js";

const SLOW_MS = 5000; // an answer unanswered this long: "the server is not answering"
const POST_TIMEOUT_MS = 60_000; // then given up, and sent again (the same id) next round
const RETRY_MS = [500, 1500]; // no answer at all while online: perhaps only the reply was lost
const ROUND_MS = 5000;
// A 429 or 503's Retry-After is kept (a rate limiter in front of an office's tablets was
// sent the answer again every 5 s while it asked for a minute of quiet; kiosk audit), up to
// this: a header asking for hours does not hold the answers for hours.
const MAX_REST_MS = 10 * 60 * 1000;

const listeners = new Set();
// A citizen's phone or e-mail never goes to localStorage (a shared tablet at a public
// counter): kept here, by client_submission_id, until its answer is settled. A reload
// before that sends the answers without it (docs/threat-model.md).
const contacts = new Map();
// Which page holds an entry's contact: the outbox is shared by every kiosk page of the
// tablet (a second tab, the app opened again beside the old page), and another page's
// round sent the answers without the contact, which the holder's own send could no longer
// add (the server refuses a retry with other answers): a consented contact lost (kiosk
// audit). Each page holds a Web Lock of its own while it lives; an entry whose holder's
// lock is held is left to that page. One whose page is gone (reloaded, closed) goes
// without its contact, as before. Without Web Locks (a page not on https), as before.
const LOCK_PREFIX = "hailong-kiosk-page-";
const locks = navigator.locks;
const PAGE = locks ? (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)) : null;
if (locks) locks.request(LOCK_PREFIX + PAGE, () => new Promise(() => {}));
let running = false;
let again = false;
let paused = false; // unpaired: no round until the tablet is paired again (a 401 each time)
let restUntil = 0; // no round before this (Date.now()): the server asked to wait

// service/errors.py and service/surveys/service.py: the codes of refusals that sending
// again could not change. "conflict" (a race lost at the database) is not one of them.
const FINAL_ERRORS = new Set([
  "already_answered", "client_submission_id_reused", "expired", "revoked", "gone",
  "not_found", "forbidden", "invalid_input", "bad_request",
]);

export function pause() {
  paused = true;
}
export function resume() {
  paused = false;
  flush();
}

export function pending() {
  return load(KEYS.outbox, []);
}

/* fn(id, result): result is {status, data} once the server settled it, or {problem:
   "network" | "server"} when a round stopped on it (it stays in the outbox). */
export function onSettled(fn) {
  listeners.add(fn);
}
function announce(id, result) {
  for (const fn of listeners) {
    try {
      fn(id, result);
    } catch (error) {
      console.error("outbox listener failed", error);
    }
  }
}

function keepContact(item) {
  const { contact, contact_consent: consent, ...kept } = item;
  if (contact) {
    contacts.set(kept.client_submission_id, { contact, contact_consent: consent });
    if (PAGE) kept.holder = PAGE;
  }
  return kept;
}

/* The holders of entries whose page still lives, other than this one. */
async function livingHolders() {
  if (!locks) return new Set();
  const state = await locks.query();
  return new Set((state.held || []).map((lock) => lock.name.slice(LOCK_PREFIX.length)));
}

/* true once the answer is kept on the device; false when localStorage cannot take it (then
   it is not queued: the caller sends it with sendUnqueued() and says what happened). */
export function put(item) {
  const kept = keepContact(item);
  const outbox = pending();
  if (!outbox.some((queued) => queued.client_submission_id === kept.client_submission_id)) outbox.push(kept);
  if (!save(KEYS.outbox, outbox)) {
    contacts.delete(kept.client_submission_id);
    return false;
  }
  drawStatus();
  flush();
  return true;
}

/* One answer that could not be queued, sent at once from memory: resolves to the result
   (as onSettled gives it), which is not announced; nothing is kept after it. */
export async function sendUnqueued(item) {
  const kept = keepContact(item);
  try {
    return await deliver(kept);
  } finally {
    contacts.delete(kept.client_submission_id);
  }
}

function remove(id) {
  contacts.delete(id);
  const outbox = pending();
  const left = outbox.filter((queued) => queued.client_submission_id !== id);
  if (left.length !== outbox.length && !save(KEYS.outbox, left)) {
    // Cannot happen with a shorter list in practice; should it, the next round sends it
    // again, which the server stores once (the same client_submission_id).
    console.error("the outbox could not drop a settled answer", id);
  }
}

/* The server's own final refusal: a 4xx with its JSON error code. */
function refusedForGood(status, data) {
  return status >= 400 && status < 500 && Boolean(data) && FINAL_ERRORS.has(data.error);
}

function stored(status, data) {
  return status >= 200 && status < 300 && Boolean(data) && Number.isInteger(data.response_id);
}

export async function flush() {
  if (paused || Date.now() < restUntil) return;
  if (running) {
    again = true; // the round under way goes on with it
    return;
  }
  running = true;
  try {
    do {
      again = false;
      await round();
    } while (again);
  } finally {
    running = false;
    drawStatus();
  }
}

async function round() {
  const living = await livingHolders();
  for (const item of pending()) {
    if (paused) return;
    if (item.holder && item.holder !== PAGE && living.has(item.holder)) continue; // its page sends it
    const result = await deliver(item);
    if (result.status !== undefined && result.status !== 401) {
      remove(item.client_submission_id);
      if (result.status >= 400 && result.status !== 409 && result.status !== 410) noteRefused();
      drawStatus();
    }
    announce(item.client_submission_id, result);
    if (result.problem || result.status === 401) return; // stop the round, try again later
  }
}

/* {status, data} once the server settled it (stored, refused for good, or 401: unpaired,
   which leaves it for after a new pairing), or {problem: "network" | "server"}. */
async function deliver(item) {
  const id = item.client_submission_id;
  for (let attempt = 0; ; attempt += 1) {
    let reply;
    const slow = setTimeout(() => reportStalled(true), SLOW_MS);
    try {
      // The tablet's clock now, beside its clock when the citizen answered: the server
      // takes the time between the two, so a tablet clock that is off moves no answer.
      const sent = { ...item, ...contacts.get(id), sent_at: new Date().toISOString() };
      delete sent.holder; // the page's, not the server's
      // The screen's language goes as a header: a server older than this page (a deploy
      // under way) ignores it, where it would refuse an unknown field, and a refused
      // answer is dropped. Entries queued before it was kept have none.
      const headers = sent.language ? { "Content-Language": sent.language } : {};
      delete sent.language;
      reply = await api("POST", "/kiosk/api/answers", sent, POST_TIMEOUT_MS, headers);
    } catch (error) {
      if (error instanceof ServerTimeout) {
        reportServer();
        return { problem: "server" };
      }
      if (navigator.onLine && attempt < RETRY_MS.length) {
        await sleep(RETRY_MS[attempt]);
        continue; // the same id: stored once even if the lost reply's answer arrived
      }
      reportNetwork();
      return { problem: "network" };
    } finally {
      clearTimeout(slow);
      reportStalled(false);
    }
    const { status, data } = reply;
    if (status === 401 && data && data.error === "unauthorized") {
      reportOk();
      return { status, data }; // unpaired: it stays, for after a new pairing
    }
    if (stored(status, data)) {
      reportOk();
      return { status, data }; // stored (201) or already stored with this id (200)
    }
    // A 409 "conflict" is a race lost at the database, which the server asks to send again
    // (409 "already_answered" is final); 5xx, 429, 408 and every reply that is not the
    // server's own (an HTML page from a captive portal or a proxy) alike: it stays.
    if (!refusedForGood(status, data)) {
      console.warn("answer not settled: the reply is not the server's", status);
      if ((status === 429 || status === 503) && reply.retryAfter) {
        restUntil = Date.now() + Math.min(reply.retryAfter * 1000, MAX_REST_MS);
      }
      reportServer();
      return { problem: "server" };
    }
    reportOk();
    const fields = (data && data.fields) || [];
    if (status === 422 && contacts.has(id) && fields.some((f) => f.field === "contact")) {
      // The tablet checks the contact before queuing it; should the server still refuse
      // it, the answers go without it rather than not at all.
      console.warn("the server refused the contact; sending the answers without it");
      contacts.delete(id);
      continue;
    }
    // Final: sending it again could not change the answer. The server logs each refusal
    // (kiosk answer refused), so that one is seen by someone.
    console.warn("answer refused", status, data);
    return { status, data };
  }
}

setInterval(() => {
  if (!paused && !running && pending().length > 0 && Date.now() >= restUntil) flush();
}, ROUND_MS);
window.addEventListener("online", () => flush());
