/* The counter's waiting surveys, oldest first. A survey stays until it is answered, skipped
   by the clerk, left by its citizen (the idle reset), or no longer waiting on the server
   (answered elsewhere, or older than HAILONG_KIOSK_PRESENT_MINUTES: the server's list at
   each look says so). The surveys done with on this tablet are remembered (localStorage,
   a day) so that the server's list, which still has them until their answer arrives, does
   not bring them back.
   The queue is one pairing's: unpaired, or paired at another counter, the tablet holds
   nothing of the old counter's (a citizen there must not answer another's dossier). */
import { KEYS, load, save } from "./util.js";

const REMEMBER_MS = 24 * 3600 * 1000;
const REMEMBER_MAX = 500;
let waiting = []; // [{card, addedAt}], oldest first (by cursor, the invitation's id)
let pairing = 0; // the pairing whose surveys wait here (main.js counts them; 0: the first)

/* Another pairing (or none): what waited is dropped, and a card of the old pairing still
   arriving (a list asked for before) is refused. Answers given stay in the outbox. */
export function startOver(newPairing) {
  pairing = newPairing;
  waiting = [];
}

export function isDone(surveyId) {
  return Object.prototype.hasOwnProperty.call(load(KEYS.handled, {}), surveyId);
}

export function markDone(surveyId) {
  const now = Date.now();
  const kept = Object.entries(load(KEYS.handled, {}))
    .filter(([, at]) => now - at < REMEMBER_MS)
    .sort((a, b) => b[1] - a[1])
    .slice(0, REMEMBER_MAX - 1);
  save(KEYS.handled, Object.fromEntries([[surveyId, now], ...kept]));
  drop(surveyId);
}

/* Adds a card of pairing `from` unless it is of another pairing, done with or already
   waiting; true when it was added. */
export function add(card, from) {
  if (from !== pairing || isDone(card.survey_id) || waiting.some((entry) => entry.card.survey_id === card.survey_id)) return false;
  waiting.push({ card, addedAt: Date.now() });
  waiting.sort((a, b) => a.card.cursor - b.card.cursor);
  return true;
}

export function take() {
  const entry = waiting.shift();
  return entry ? entry.card : null;
}

export function drop(surveyId) {
  waiting = waiting.filter((entry) => entry.card.survey_id !== surveyId);
}

/* The server's list, asked for at `since`: a card added before then and not in it is no
   longer waiting (one pushed by the stream meanwhile is kept). A list of another pairing
   says nothing of this one. */
export function keepOnly(cards, since, from) {
  if (from !== pairing) return;
  const listed = new Set(cards.map((card) => card.survey_id));
  waiting = waiting.filter((entry) => entry.addedAt >= since || listed.has(entry.card.survey_id));
}

export function count() {
  return waiting.length;
}

export function ids() {
  return waiting.map((entry) => entry.card.survey_id);
}
