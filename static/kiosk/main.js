/* The counter kiosk: what happens when. Screens (screens.js, scanner.js): pairing, idle,
   code entry, one question at a time, the optional comment (with an optional contact,
   kept only with consent), thank-you. Surveys arrive by themselves (stream.js) into the
   counter's queue (queue.js), oldest first, or by a code the citizen types or scans.

   Sending puts the answer in the outbox (outbox.js) and shows the thank-you at once,
   whatever the server does. A reply only settles its own outbox entry; it may change the
   screen only while that screen is still the thank-you of the same answer (the follow-up
   QR code, "already answered"), never the screen of another survey. The status line
   (status.js) says whether the network or the server is the trouble, and how many answers
   wait to be sent. */
import { $, KEYS, ServerTimeout, api, config, i18n, load, newId, save, t, el } from "./util.js";
import { drawStatus, reportNetwork, reportOk, reportServer } from "./status.js";
import * as outbox from "./outbox.js";
import * as queue from "./queue.js";
import { readList, startStream, stopStream } from "./stream.js";
import * as screens from "./screens.js";
import { SCAN_SECONDS, showScanner } from "./scanner.js";

const THANKS_SECONDS = 6;
// A notice ("already answered") gives way to a waiting survey after this long; with none
// waiting it stays on the idle clock (a slow reader needs more than these seconds).
const NOTICE_SECONDS = 6;
// The idle reset is announced this long before it comes (WCAG 2.2.1 gives a user 20 s to
// ask for more time), or sooner with a short idle time.
const WARN_SECONDS = Math.max(1, Math.min(20, config.idle_seconds - 5));
const PHONE = /^(?:0|\+?84)\d{9,10}$/; // as service/surveys/contact.py
// The server's own rule (service/messaging/contacts.py): a looser one let addresses through
// that the server refused, and the answer went without its contact (kiosk audit).
const EMAIL = new RegExp(config.email_pattern);
const foot = $("foot");

let device = load(KEYS.device, null);
let current = null; // the survey being answered: {card, answers, step, id, contactProblem}
let thanks = null; // the thank-you on show: {id, note, followupUrl, token}
let keeping = false; // it shows a follow-up QR code: it stays until "Done" or the idle reset
let looking = null; // "code" | "scan": the citizen looks for a survey (code entry, camera)
let noticing = false; // "already answered" or "no longer valid" is on screen
let noticeUntil = 0; // until then, a waiting survey does not take the notice's place
let onIdleScreen = false;
let visits = 0; // screens shown so far: a reply asked for on one may not change another
let idleAt = 0;
let holdUntil = 0; // a camera scanning: no idle reset before its own time is up
let pairingShown = false; // the pairing screen is up: nothing redraws it under the clerk's typing
let pairing = 0; // pairings and unpairings on this page so far: a survey belongs to one of them

// --- chrome: header, language, the clerk's queue and skip ------------------------------

function drawChrome() {
  document.documentElement.lang = i18n.lang;
  // The title names the screen, as a page's does (WCAG 2.4.2): every screen was titled
  // "Đánh giá sự hài lòng", so a screen reader's title gave no hint where the citizen was.
  const heading = $("screen").querySelector("h1, h2");
  const name = heading ? heading.textContent.trim() : "";
  document.title = name ? name + " · " + t("title") : t("title");
  $("brand").textContent = t("title");
  const sw = $("switch");
  sw.textContent = i18n.lang === "vi" ? "English" : "Tiếng Việt";
  sw.setAttribute("lang", i18n.lang === "vi" ? "en" : "vi");
  $("place").textContent = device ? device.agency_name + " · " + device.counter_code : "";
  const waiting = queue.count();
  const count = $("queue");
  count.textContent = waiting > 0 ? t("queue", { n: waiting }) : "";
  count.hidden = waiting === 0;
  const skip = $("skip");
  skip.textContent = t("skip");
  skip.hidden = current === null;
  drawStatus();
}
screens.afterEachScreen(drawChrome);

$("switch").addEventListener("click", () => {
  i18n.lang = i18n.lang === "vi" ? "en" : "vi";
  touch();
  screens.redraw();
});

// The clerk skips the survey on screen (a citizen who left, a dossier handed over twice).
$("skip").addEventListener("click", () => {
  if (!current) return;
  queue.markDone(current.card.survey_id);
  moveOn();
});

// --- idle countdown -------------------------------------------------------------------

/* Every screen a citizen may walk away from counts down to the idle screen: a survey, the
   follow-up QR code, and the code entry and camera (the next citizen must not find the code
   the last one typed, nor answer that one's survey), and any screen left in English (the
   next citizen must find the tablet in Vietnamese). */
function busy() {
  return current !== null || keeping || looking !== null || noticing || i18n.lang !== "vi";
}
function touch() {
  if (busy()) idleAt = Math.max(Date.now() + config.idle_seconds * 1000, holdUntil);
}
["pointerdown", "keydown", "input"].forEach((kind) => document.addEventListener(kind, touch, true));
// A survey someone has touched is theirs now, even before a first answer (noLongerWaiting).
["pointerdown", "keydown", "input"].forEach((kind) => document.addEventListener(kind, () => {
  if (current) current.touched = true;
}, true));
// Full screen needs a user gesture: the first touch on the tablet asks for it.
document.addEventListener("pointerdown", () => {
  const root = document.documentElement;
  if (!document.fullscreenElement && root.requestFullscreen) root.requestFullscreen().catch(() => {});
}, { once: true });
/* The countdown bar, drawn once and updated: its "more time" button must stay the same
   element under a finger (redrawn every 250 ms, a tap could land on one that was gone). A
   screen reader user, whose swipes reach the page as no touch, hears the warning once
   (#idle-warning, a polite live region) with what to do. */
const fill = el("span", { class: "fill" });
const countdownText = el("span", { id: "countdown" });
const moreTime = el("button", { type: "button", class: "secondary more-time", id: "more-time", onclick: touch });
const bar = el("div", { class: "countdown" },
  el("span", { class: "track", "aria-hidden": "true" }, fill), countdownText, moreTime);
const warning = $("idle-warning");
setInterval(() => {
  if (!busy()) {
    foot.replaceChildren();
    warning.textContent = "";
    return;
  }
  const left = Math.max(0, Math.ceil((idleAt - Date.now()) / 1000));
  fill.style.width = (100 * left) / config.idle_seconds + "%"; // CSSOM: allowed by the CSP
  bar.classList.toggle("soon", left <= 10);
  countdownText.textContent = t("countdown", { s: left });
  moreTime.textContent = t("more_time");
  if (!bar.isConnected) foot.replaceChildren(bar);
  if (left > WARN_SECONDS) warning.textContent = "";
  else if (!warning.textContent) warning.textContent = t("idle_warning", { s: left });
  if (left <= 0) {
    if (current) queue.markDone(current.card.survey_id); // its citizen walked away
    moveOn();
  }
}, 250);

// --- moving between screens ---------------------------------------------------------

function leave() {
  visits += 1;
  current = null;
  thanks = null;
  keeping = false;
  looking = null;
  noticing = false;
  holdUntil = 0;
  onIdleScreen = false;
  pairingShown = false;
}

/* The next waiting survey, or the idle screen. */
function moveOn() {
  leave();
  i18n.lang = "vi";
  const next = queue.take();
  if (next) startSurvey(next, true);
  else if (!device) showPairing();
  else {
    screens.showIdle({ onCode: () => showCodeEntry(), onScan: scan });
    onIdleScreen = true;
  }
}

function showPairing(message) {
  leave();
  screens.showPairing(message, pair);
  pairingShown = true;
}

function showCodeEntry(message) {
  leave();
  screens.showCodeEntry(message, { onFind: lookup, onBack: moveOn });
  looking = "code";
  touch();
}

/* The code entry is on screen and nothing is typed in it: a survey handed over meanwhile
   may take its place (one typing keeps the screen; the waiting count in the header shows
   the survey, which comes after them or at the idle reset). */
function codeEntryEmpty() {
  const box = $("survey-code");
  return looking === "code" && box !== null && box.value.trim() === "";
}

function scan() {
  leave();
  // Nothing read in time: a survey handed over meanwhile comes first, else typing the code.
  const giveUp = () => (queue.count() > 0 ? moveOn() : showCodeEntry());
  // While the camera runs, the idle reset waits for the scan's own time (the citizen holds
  // the slip up without touching the screen; the scan then gives up as above).
  const scanning = () => {
    if (looking !== "scan") return;
    holdUntil = Date.now() + (SCAN_SECONDS + 2) * 1000;
    touch();
  };
  showScanner({ onCode: (code) => lookup(code, null), onBack: moveOn, onGiveUp: giveUp, onScanning: scanning });
  looking = "scan";
  touch();
}

function showNotice(text) {
  leave();
  const token = screens.showNotice(text, moveOn);
  noticing = true;
  noticeUntil = Date.now() + NOTICE_SECONDS * 1000;
  touch();
  // A survey that waited before the notice came (one typed a code while the next citizen's
  // arrived) is not re-offered as new: the notice lets it through when its time is up.
  setTimeout(() => { if (screens.isShowing(token) && noticeMayGo()) moveOn(); }, NOTICE_SECONDS * 1000 + 50);
}

function noticeMayGo() {
  return noticing && queue.count() > 0 && Date.now() >= noticeUntil;
}

function showThanks(id, note, followupUrl) {
  leave();
  const mine = { id, note, followupUrl, token: 0 };
  thanks = mine;
  keeping = Boolean(followupUrl);
  if (keeping) idleAt = Date.now() + config.idle_seconds * 1000;
  mine.token = screens.showThanks({ note, followupUrl, onDone: moveOn });
  if (!keeping) setTimeout(() => { if (thanks === mine && screens.isShowing(mine.token)) moveOn(); }, THANKS_SECONDS * 1000);
}

// --- pairing --------------------------------------------------------------------------

async function pair(code, error) {
  try {
    const { status, data } = await api("POST", "/kiosk/api/pair", { code });
    if (status === 200) {
      device = data;
      save(KEYS.device, device); // if storage is full, the cookie still pairs this tablet
      startOver();
      moveOn();
      startStream(arrivalsOf(pairing));
      outbox.resume(); // the answers kept while unpaired go now
    } else error.textContent = t(pairRefusal(status));
  } catch (e) {
    console.warn("pairing failed", e);
    error.textContent = t("pair_offline");
  }
}

/* Only the server's refusal of the code itself means "ask for a new one": its database down
   (5xx) or a race lost there (409 "conflict") leaves the one-time code good, to send again
   as it stands in the field (audit). */
function pairRefusal(status) {
  if (status === 429) return "rate_limited";
  if (status >= 500 || status === 409) return "error";
  return "pair_error";
}

/* Unpaired (a 401): the outbox waits for a new pairing, and a pairing screen already up is
   left alone (the clerk may be typing the new code in it). */
function unpaired() {
  device = null;
  localStorage.removeItem(KEYS.device);
  outbox.pause();
  stopStream();
  startOver();
  if (!pairingShown) showPairing();
}

/* The tablet may be paired next at another counter, or agency: the surveys that waited
   here are not its citizens' (before, the next one came on screen there and was answered,
   audit). Only what waited to be shown goes: the answers given stay in the outbox. */
function startOver() {
  pairing += 1;
  queue.startOver(pairing);
}

// --- surveys arriving -----------------------------------------------------------------

function offer(card, from) {
  if (current && current.card.survey_id === card.survey_id) return;
  const added = queue.add(card, from);
  if ((added && (onIdleScreen || codeEntryEmpty())) || noticeMayGo()) moveOn();
  else drawChrome();
}

/* What the stream of pairing `from` brings; once another pairing began, nothing of it counts
   (a reply on its way from the old counter neither queues a survey nor unpairs the new). */
function arrivalsOf(from) {
  const mine = () => from === pairing;
  return {
    onSurvey: (card) => offer(card, from),
    onWaiting(cards, since) {
      if (!mine()) return;
      queue.keepOnly(cards, since, from);
      if (noLongerWaiting(cards, since)) leaveIfAnswered(current);
      for (const card of cards) offer(card, from);
      drawChrome();
    },
    onUnpaired: () => { if (mine()) unpaired(); },
  };
}

/* The survey on screen came from the counter's waiting list, was shown before the list now
   read was asked for, is not in it, and nobody has touched it since it was shown: it may
   have been answered on another tablet of the counter. Two tablets at one counter both
   showed citizen 1's survey, citizen 1 answered on one, and the other kept showing a
   stranger's dossier, the next citizen's survey stuck behind it (kiosk audit). One a
   citizen has touched stays (its answer, if refused, is said so); a code the citizen typed
   is theirs to answer. */
function noLongerWaiting(cards, since) {
  const survey = current;
  if (!survey || !survey.waited || survey.shownAt >= since || survey.touched) return false;
  return !cards.some((card) => card.survey_id === survey.card.survey_id);
}

/* Off the list is not answered: a survey also leaves the list once it waited longer than
   the counter shows surveys for, and one a citizen was reading was taken off the screen
   (review). The server is asked, as for a typed code: only an answered or withdrawn survey
   leaves the screen, if still untouched. */
async function leaveIfAnswered(survey) {
  let reply;
  try {
    reply = await api("POST", "/kiosk/api/lookup", { code: survey.card.short_code });
  } catch {
    return; // no word from the server: it stays
  }
  const { status, data } = reply;
  const gone = status === 410 || (status === 409 && Boolean(data) && data.error === "already_answered");
  if (current !== survey || survey.touched || !gone) return;
  queue.markDone(survey.card.survey_id);
  moveOn(); // the next citizen's survey, or the idle screen
}

async function lookup(code, error) {
  const say = (key) => (error ? (error.textContent = t(key)) : showCodeEntry(t(key)));
  // The screen the code was typed or scanned on may be gone by the reply (the idle reset,
  // and another survey after it): then the reply changes nothing on screen.
  const asked = visits;
  try {
    const { status, data } = await api("POST", "/kiosk/api/lookup", { code: code.trim() });
    if (status < 500 && status !== 429) reportOk();
    if (status === 401) unpaired();
    else if (visits !== asked) return;
    else if (status === 200) startSurvey(data);
    else if (status === 409 && data && data.error === "already_answered") showNotice(t("already"));
    else if (status === 410) showNotice(t("gone"));
    else if (status === 429) say("rate_limited");
    else if (status >= 500) {
      reportServer();
      say("error");
    } else if (status === 409) say("error"); // "conflict": a race lost at the database; not answered (audit)
    else say("not_found");
  } catch (e) {
    if (e instanceof ServerTimeout) reportServer();
    else reportNetwork();
    if (visits === asked) say(e instanceof ServerTimeout ? "error" : "offline");
  }
}

// --- a citizen answering --------------------------------------------------------------

/* `waited`: it came from the counter's waiting surveys (not a code the citizen typed). */
function startSurvey(card, waited = false) {
  leave();
  queue.drop(card.survey_id);
  current = {
    card, answers: {}, step: 0, id: newId(), contactProblem: null, sendProblem: null, sending: false,
    waited, shownAt: Date.now(),
  };
  // In the survey's language, unless the citizen chose English on this screen before
  // typing or scanning their own code: their choice was undone (kiosk walkthrough). A
  // survey the counter pushes is the next citizen's: its own language.
  const chosen = !waited && i18n.lang !== "vi";
  if (!chosen) i18n.lang = card.language === "en" ? "en" : "vi";
  touch();
  showStep();
}

function showStep() {
  const survey = current;
  if (!survey) return;
  const again = () => { if (current === survey) showStep(); };
  if (survey.step < config.questions.length) screens.showQuestion(survey, { onNext: again });
  else {
    screens.showComment(survey, {
      onSend: () => { if (current === survey) send(); },
      onBack: () => { survey.step -= 1; again(); },
    });
  }
}

/* An address on an internationalised domain in the ASCII form the server checks and stores
   (dan@bưuđiện.vn as dan@xn--...): refused here, the answer went without its contact
   (alerts audit). The browser's own URL parser does the conversion (IDNA, UTS 46). */
/* A label as the server's IDNA rules take it: letters, marks and digits, "-" between them
   but not as its 3rd and 4th characters. The browser converts more (a "-" at an end, a
   symbol), and the server then refused the contact the tablet had taken (review). */
function idnLabel(label) {
  return /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$/u.test(label) && !/^..--/.test(label);
}

function asciiDomain(address) {
  const at = address.lastIndexOf("@");
  const domain = address.slice(at + 1);
  const ascii = [...domain].every((c) => c.charCodeAt(0) < 128);
  if (at < 0 || ascii || !domain.split(".").every(idnLabel)) return address;
  try {
    return address.slice(0, at + 1) + new URL(`http://${domain}`).hostname;
  } catch {
    return address;
  }
}

function contactProblem(contact, consent) {
  if (!contact) return null;
  const phone = PHONE.test(contact.replace(/[\s.\-()]/g, ""));
  const email = contact.length <= 254 && EMAIL.test(asciiDomain(contact));
  if (contact.length > 255 || !(phone || email)) return "contact_invalid";
  return consent ? null : "contact_consent";
}

function send() {
  const survey = current;
  const contact = (survey.answers.__contact || "").trim();
  const consent = Boolean(survey.answers.__consent);
  survey.contactProblem = contactProblem(contact, consent);
  if (survey.contactProblem) {
    showStep(); // the comment screen again, the problem next to the contact
    return;
  }
  const answers = {};
  for (const q of config.questions) if (survey.answers[q.field]) answers[q.field] = survey.answers[q.field];
  const complaint = (survey.answers.__complaint || "").trim();
  if (complaint) answers.complaint = complaint;
  if (complaint && survey.answers.__wants_reply) answers.wants_reply = true;
  const item = { survey_id: survey.card.survey_id, answers, client_submission_id: survey.id, answered_at: new Date().toISOString() };
  // The screen's language, which the citizen may have switched: kept with the answer.
  item.language = i18n.lang;
  // The card's ticket stays with the answer in the outbox: the tablet may be paired at
  // another agency's counter before it is delivered, and the server lets it in by it.
  if (survey.card.ticket) item.ticket = survey.card.ticket;
  if (contact) {
    item.contact = contact;
    item.contact_consent = consent;
  }
  // Kept on the device first: from here on, neither a network drop, a slow server nor a
  // reload loses it; the citizen is thanked without waiting for the server.
  queue.markDone(survey.card.survey_id);
  if (outbox.put(item)) showThanks(item.client_submission_id, null, null);
  else sendUnqueued(survey, item);
}

/* localStorage is full: the answer goes at once from memory, and the citizen is thanked
   only once the server has it; otherwise the comment screen says so, to send again. */
async function sendUnqueued(survey, item) {
  survey.sendProblem = null;
  survey.sending = true;
  showStep();
  holdUntil = Date.now() + 75_000; // no idle reset while the answer is on its way
  touch();
  const result = await outbox.sendUnqueued(item);
  survey.sending = false;
  holdUntil = 0;
  if (result.status === 401) return unpaired();
  if (current !== survey) return;
  if (result.problem) {
    survey.sendProblem = "storage_full";
    touch();
    showStep();
  } else if (result.status < 300) {
    showThanks(item.client_submission_id, null, (result.data && result.data.followup_url) || null);
  } else if (result.status === 409) showNotice(t("already"));
  else if (result.status === 410) showNotice(t("gone"));
  else {
    survey.sendProblem = "storage_refused";
    touch();
    showStep();
  }
}

outbox.onSettled((id, result) => {
  if (result.status === 401) return unpaired();
  // Only the thank-you of this very answer, still on screen, may change.
  if (!thanks || thanks.id !== id || !screens.isShowing(thanks.token)) return;
  if (result.problem) {
    if (thanks.note !== result.problem) showThanks(id, result.problem, thanks.followupUrl);
  } else if (result.status === 409) showNotice(t("already")); // answered meanwhile, e.g. on a phone
  else if (result.status === 410) showNotice(t("gone"));
  else if (result.status >= 400) showNotice(t("storage_refused")); // not stored: said (kiosk audit)
  else if (result.status < 300) {
    const link = result.data ? result.data.followup_url : null;
    if (link || thanks.note) showThanks(id, null, link || null);
  }
});

// --- start ----------------------------------------------------------------------------

async function start() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/kiosk/sw.js", { scope: "/kiosk" }).catch(() => {});
  }
  try {
    const { status, data } = await api("GET", "/kiosk/api/state");
    if (status === 401) return unpaired(); // the outbox waits for the pairing
    if (status === 200) {
      device = data;
      save(KEYS.device, device);
    }
  } catch {
    /* offline: carry on as the device we were */
  }
  moveOn();
  if (device) startStream(arrivalsOf(pairing));
  else outbox.pause(); // offline and never paired: the answers wait for a pairing
  outbox.flush();
}

window.hailongKiosk = { flush: outbox.flush, outbox: outbox.pending, waiting: queue.ids, readList };
start();
