/* The outbox: every answer goes to localStorage first and leaves it only once the server
   has settled it, so that neither a network drop, a slow server nor a reload loses it.
   Each carries one client_submission_id: sending it again (a retry after a lost reply, a
   second tap) is stored once, and the server answers 200 with the same response.

   One delivery round at a time, in order. A reply settles its own entry and is announced
   to onSettled listeners with that entry's id: what the screen does with it is for the
   screen to decide (main.js), never for the outbox. */
import { KEYS, ServerTimeout, api, load, save, sleep } from "./util.js";
import { drawStatus, reportNetwork, reportOk, reportServer, reportStalled } from "./status.js";

const SLOW_MS = 5000; // an answer unanswered this long: "the server is not answering"
const POST_TIMEOUT_MS = 60_000; // then given up, and sent again (the same id) next round
const RETRY_MS = [500, 1500]; // no answer at all while online: perhaps only the reply was lost
const ROUND_MS = 5000;

const listeners = new Set();
// A citizen's phone or e-mail never goes to localStorage (a shared tablet at a public
// counter): kept here, by client_submission_id, until its answer is settled. A reload
// before that sends the answers without it (docs/threat-model.md).
const contacts = new Map();
let running = false;
let again = false;

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

export function put(item) {
  const { contact, contact_consent: consent, ...kept } = item;
  if (contact) contacts.set(kept.client_submission_id, { contact, contact_consent: consent });
  const outbox = pending();
  if (!outbox.some((queued) => queued.client_submission_id === kept.client_submission_id)) outbox.push(kept);
  save(KEYS.outbox, outbox);
  drawStatus();
  flush();
}

function remove(id) {
  contacts.delete(id);
  save(KEYS.outbox, pending().filter((queued) => queued.client_submission_id !== id));
}

export async function flush() {
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
  for (const item of pending()) {
    if (!(await deliver(item))) return;
  }
}

/* true: settled (go on with the next); false: stop the round, try again later. */
async function deliver(item) {
  const id = item.client_submission_id;
  for (let attempt = 0; ; attempt += 1) {
    let reply;
    const slow = setTimeout(() => reportStalled(true), SLOW_MS);
    try {
      // The tablet's clock now, beside its clock when the citizen answered: the server
      // takes the time between the two, so a tablet clock that is off moves no answer.
      const sent = { ...item, ...contacts.get(id), sent_at: new Date().toISOString() };
      reply = await api("POST", "/kiosk/api/answers", sent, POST_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof ServerTimeout) {
        reportServer();
        announce(id, { problem: "server" });
        return false;
      }
      if (navigator.onLine && attempt < RETRY_MS.length) {
        await sleep(RETRY_MS[attempt]);
        continue; // the same id: stored once even if the lost reply's answer arrived
      }
      reportNetwork();
      announce(id, { problem: "network" });
      return false;
    } finally {
      clearTimeout(slow);
      reportStalled(false);
    }
    const { status, data } = reply;
    // A 409 "conflict" is a race lost at the database, which the server asks to send again
    // (409 "already_answered" is final): dropped as final, the answer was lost (audit).
    const raced = status === 409 && data && data.error === "conflict";
    if (status >= 500 || status === 429 || status === 408 || raced) {
      reportServer();
      announce(id, { problem: "server" });
      return false;
    }
    reportOk();
    if (status === 401) {
      announce(id, { status, data }); // unpaired: it stays, for after a new pairing
      return false;
    }
    const fields = (data && data.fields) || [];
    if (status === 422 && contacts.has(id) && fields.some((f) => f.field === "contact")) {
      // The tablet checks the contact before queuing it; should the server still refuse
      // it, the answers go without it rather than not at all.
      console.warn("the server refused the contact; sending the answers without it");
      contacts.delete(id);
      continue;
    }
    // 2xx: stored (201) or already stored with this id (200). 409, 410, 403, 404, 422:
    // final; sending it again could not change the answer. The server logs each refusal
    // (kiosk answer refused), so that one is seen by someone.
    if (status >= 300) console.warn("answer refused", status, data);
    remove(id);
    drawStatus();
    announce(id, { status, data });
    return true;
  }
}

setInterval(() => {
  if (!running && pending().length > 0) flush();
}, ROUND_MS);
window.addEventListener("online", () => flush());
