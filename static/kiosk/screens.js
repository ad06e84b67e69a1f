/* The kiosk's screens. Each draws itself from what it is given and calls back main.js;
   none sends anything. show() gives every screen a token: whoever later wants to change
   "this" screen (a reply for the survey whose thank-you it is) checks isShowing(token)
   first, so a late reply can never touch the screen of another survey. */
import { $, config, deco, el, i18n, t } from "./util.js";

const SCREEN_GUARD_MS = 500; // a double tap must not also answer the next question
const TAP_GUARD_MS = 1000; // the send and find buttons: a second tap within it is ignored
const screen = $("screen");
let view = null; // re-draws the current screen (after a language switch)
let token = 0;
let shownAt = 0;
let lastTap = 0;
let onShown = () => {};

export function afterEachScreen(fn) {
  onShown = fn;
}

export function show(draw) {
  view = draw;
  token += 1;
  shownAt = Date.now();
  screen.dataset.ready = "0";
  setTimeout(() => { if (Date.now() - shownAt >= SCREEN_GUARD_MS) screen.dataset.ready = "1"; }, SCREEN_GUARD_MS);
  screen.replaceChildren(...draw().filter((node) => node !== null));
  const heading = screen.querySelector("h1, h2");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  onShown();
  return token;
}

export function isShowing(given) {
  return given === token;
}

export function redraw() {
  if (view) {
    const draw = view;
    const kept = token;
    show(draw);
    token = kept; // the same screen, in the other language
  }
}

export function tapOnce() {
  // A second tap within a second (a shaky finger, an impatient citizen) does nothing.
  const now = Date.now();
  if (now - lastTap < TAP_GUARD_MS) return false;
  lastTap = now;
  return true;
}

/* While the server is asked (until its reply or the call's time limit): the button is
   disabled, busy, and says so; the reply's screen or message follows. */
function busyWhile(button, text, work) {
  const form = button.form;
  const label = Array.from(button.childNodes);
  // Disabled, the button loses the focus to <body>: a keyboard user sent with Enter was
  // left at the top of the page with the refusal (accessibility audit). The field the
  // refusal is about gets it back.
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (form) form.setAttribute("aria-busy", "true");
  button.textContent = text;
  Promise.resolve(work).finally(() => {
    if (!button.isConnected) return; // another screen came with the reply
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (form) form.removeAttribute("aria-busy");
    button.replaceChildren(...label);
    const field = form && form.querySelector("input");
    if (hadFocus && document.activeElement === document.body) (field || button).focus();
  });
}

/* The field an error is about is described by it and marked invalid while it says
   something, as on the phone form (templates/survey/form.html): the error was announced
   (role=alert) but tied to no field (public pages audit). Watched, since the pairing and
   the lookup write their errors in main.js. */
function tieError(input, error) {
  const ids = [input.getAttribute("aria-describedby"), error.id].filter(Boolean);
  input.setAttribute("aria-describedby", ids.join(" "));
  const mark = () => {
    if (error.textContent) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  };
  mark();
  new MutationObserver(mark).observe(error, { childList: true, characterData: true, subtree: true });
}

export function showPairing(message, onPair) {
  return show(() => {
    const input = el("input", { id: "pair-code", name: "code", type: "text", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", maxlength: 12, required: true, "aria-describedby": "pair-hint" });
    const error = el("p", { class: "error", id: "pair-error", role: "alert" }, message || "");
    tieError(input, error);
    const button = el("button", { type: "submit", class: "primary" }, t("pair_button"));
    const form = el("form", { class: "stack", onsubmit: (event) => {
      event.preventDefault();
      if (button.disabled) return;
      error.textContent = "";
      busyWhile(button, t("pairing"), onPair(input.value, error));
    } },
      el("label", { for: "pair-code", class: "label" }, t("pair_label")), input, button, error);
    return [el("h1", {}, t("pair_title")), el("p", { id: "pair-hint", class: "hint" }, t("pair_hint")), form];
  });
}

export function showIdle({ onCode, onScan }) {
  const canScan = Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  return show(() => [
    el("div", { class: "idle" },
      el("h1", {}, t("idle_title")),
      el("p", { class: "hint" }, t("idle_hint")),
      el("div", { class: "pictogram", "aria-hidden": "true" }, "📋 ➜ 🙂"),
      el("p", { class: "note", id: "idle-waiting", hidden: true }),
      el("button", { type: "button", class: "secondary", id: "enter-code", onclick: onCode }, deco("⌨️ "), t("enter_code")),
      canScan ? el("button", { type: "button", class: "secondary", id: "scan", onclick: onScan }, deco("📷 "), t("scan")) : null),
  ]);
}

export function showCodeEntry(message, { onFind, onBack }) {
  return show(() => {
    const input = el("input", { id: "survey-code", type: "text", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", maxlength: 64, required: true });
    const error = el("p", { class: "error", id: "code-error", role: "alert" }, message || "");
    tieError(input, error);
    const button = el("button", { type: "submit", class: "primary" }, deco("🔍 "), t("find"));
    const form = el("form", { class: "stack", onsubmit: (event) => {
      event.preventDefault();
      if (button.disabled || !tapOnce()) return;
      error.textContent = "";
      busyWhile(button, t("searching"), onFind(input.value, error));
    } },
      el("label", { for: "survey-code", class: "label" }, t("code_label")), input, button, error,
      el("button", { type: "button", class: "secondary", onclick: onBack }, deco("← "), t("back")));
    return [el("h1", {}, t("enter_code")), form];
  });
}

/* "Already answered", "no longer valid": on screen until "Done", the idle reset or a survey
   handed over meanwhile (five seconds were too few to read it; accessibility audit). */
export function showNotice(text, onDone) {
  return show(() => [el("div", { class: "thanks" },
    el("div", { class: "pictogram", "aria-hidden": "true" }, "ℹ️"),
    el("h1", {}, text),
    el("button", { type: "button", class: "secondary", id: "notice-done", onclick: onDone }, t("done")))]);
}

function dossierBox(card) {
  // The names are Vietnamese data, read as Vietnamese on the English screens too (as the
  // phone form marks them; accessibility audit).
  return el("section", { class: "dossier", "aria-label": t("dossier") },
    el("p", { class: "agency", lang: "vi" }, card.agency_name),
    card.procedure_name ? el("p", { class: "procedure", lang: "vi" }, card.procedure_name) : null,
    el("p", { class: "code" }, t("dossier") + ": ", el("strong", {}, card.dossier_code)));
}

/* survey: {card, answers, step, id, contactProblem}; onNext() after an answer. */
export function showQuestion(survey, { onNext }) {
  const questions = config.questions;
  const q = questions[survey.step];
  // An answer (its value) or a skip (null), once the screen guard is over: to the next step.
  const choose = (value, button) => {
    if (Date.now() - shownAt < SCREEN_GUARD_MS || questions[survey.step] !== q) return;
    screen.dataset.ready = "0"; // the next screen is coming
    button.classList.add("picked");
    if (value === null) delete survey.answers[q.field]; // skipped: no answer is sent, not even an earlier one
    else survey.answers[q.field] = value;
    survey.step += 1;
    setTimeout(onNext, 150);
  };
  return show(() => {
    const lang = i18n.lang;
    const buttons = q.answers.map((a) =>
      el("button", { type: "button", class: "answer" + (survey.answers[q.field] === a.value ? " picked" : ""), "data-value": a.value, "aria-pressed": survey.answers[q.field] === a.value ? "true" : "false",
        onclick: (event) => choose(a.value, event.currentTarget) },
      el("span", { class: "icon", "aria-hidden": "true" }, config.icons[a.icon] || ""),
      el("span", { class: "label" }, a.label[lang])));
    // A question the kiosk does not require (the profile's required_in) can be passed on:
    // a queue must not stall on it, and an answer made up to get past it would be scored.
    // In the answers' grid, after them: as large a target, next in the focus order.
    if (!q.required) {
      buttons.push(el("button", { type: "button", class: "secondary skip-question",
        onclick: (event) => choose(null, event.currentTarget) }, t("skip_question"), el("span", { "aria-hidden": "true" }, " ➜")));
    }
    return [
      dossierBox(survey.card),
      el("p", { class: "progress" }, t("question_of", { n: survey.step + 1, total: questions.length })),
      el("h1", { class: "question", id: "question" }, q.text[lang]),
      el("div", { class: "answers answers-" + q.answers.length, role: "group", "aria-labelledby": "question" }, ...buttons),
      survey.step > 0 ? el("button", { type: "button", class: "secondary back", onclick: () => { survey.step -= 1; onNext(); } }, deco("← "), t("back")) : null,
    ];
  });
}

export function showComment(survey, { onSend, onBack }) {
  return show(() => {
    const box = el("textarea", { id: "complaint", rows: 4, maxlength: config.complaint_max, "aria-describedby": "complaint-hint" });
    box.value = survey.answers.__complaint || "";
    box.addEventListener("input", () => { survey.answers.__complaint = box.value; });
    // A comment, or a petition the agency must answer: the citizen says which.
    const choices = [[false, t("just_comment")], [true, t("wants_reply")]].map(([wants, label]) =>
      el("button", { type: "button", class: "secondary reply-choice", "aria-pressed": String(Boolean(survey.answers.__wants_reply) === wants),
        onclick: (event) => {
          survey.answers.__wants_reply = wants;
          for (const b of event.currentTarget.parentNode.children) b.setAttribute("aria-pressed", String(b === event.currentTarget));
        } }, label));
    // The contact and consent of the phone form, checked here before anything is queued
    // (as the server checks them): the problem is shown next to the field.
    // A usable contact sent without consent is the box's problem, not the contact's (as
    // on the phone form): the box is marked, the contact is not (public pages audit).
    const onConsent = survey.contactProblem === "contact_consent";
    const problem = survey.contactProblem ? t(survey.contactProblem) : "";
    const onContact = Boolean(problem) && !onConsent;
    const contact = el("input", { id: "contact", class: "contact", type: "text", autocomplete: "tel", autocapitalize: "off", spellcheck: "false", maxlength: 255,
      "aria-describedby": onContact ? "contact-error" : null, "aria-invalid": onContact ? "true" : null });
    contact.value = survey.answers.__contact || "";
    contact.addEventListener("input", () => { survey.answers.__contact = contact.value; });
    const consent = el("input", { id: "consent", type: "checkbox", checked: Boolean(survey.answers.__consent),
      "aria-describedby": onConsent ? "consent-error" : null, "aria-invalid": onConsent ? "true" : null });
    consent.addEventListener("change", () => { survey.answers.__consent = consent.checked; });
    // survey.sending: the answer goes from memory (storage full) and the thank-you waits
    // for the server; survey.sendProblem: it could not be kept nor sent.
    const send = survey.sending
      ? el("button", { type: "button", class: "primary", id: "send", disabled: true, "aria-busy": "true" }, t("sending"))
      : el("button", { type: "button", class: "primary", id: "send", onclick: () => { if (tapOnce()) onSend(); } }, deco("✔ "), t("send"));
    // Two columns on a landscape tablet (kiosk.css): the send button stays above the fold.
    return [
      dossierBox(survey.card),
      el("h1", {}, el("label", { for: "complaint" }, t("complaint"))),
      el("div", { class: "comment-columns" },
        el("div", { class: "comment-main" },
          el("p", { class: "hint", id: "complaint-hint" }, t("complaint_hint")),
          box,
          el("div", { class: "reply-choices", role: "group", "aria-label": t("wants_reply_question") }, ...choices)),
        el("div", { class: "comment-side" },
          el("div", { class: "contact-box" + (problem ? " has-error" : "") },
            el("label", { for: "contact", class: "label" }, t("contact")),
            onContact ? el("p", { class: "error", id: "contact-error", role: "alert" }, problem) : null,
            contact,
            onConsent ? el("p", { class: "error", id: "consent-error", role: "alert" }, problem) : null,
            el("label", { class: "consent", for: "consent" }, consent, " ", t("consent"))),
          survey.sendProblem ? el("p", { class: "error", id: "send-error", role: "alert" }, t(survey.sendProblem)) : null,
          send,
          el("button", { type: "button", class: "secondary back", onclick: onBack }, deco("← "), t("back")))),
    ];
  });
}

function followupQrPath(link) {
  // The QR code from hailong itself (same origin; the server draws it for real follow-up
  // links only and lets no cache keep it).
  try {
    return new URL(link).pathname + "/qr.svg";
  } catch {
    return null;
  }
}

/* thanks: {note: null | "network" | "server", followupUrl, onDone}. The follow-up link
   lives in this screen only: never in the outbox, never in storage. */
export function showThanks(thanks) {
  const qr = thanks.followupUrl ? followupQrPath(thanks.followupUrl) : null;
  const note = thanks.note === "network" ? "saved_offline" : thanks.note === "server" ? "saved_server" : null;
  return show(() => [el("div", { class: "thanks" },
    qr ? null : el("div", { class: "pictogram", "aria-hidden": "true" }, "🙏"),
    el("h1", {}, t("thanks_title")),
    el("p", { class: "hint" }, t("thanks_hint")),
    note ? el("p", { class: "note", id: "saved-offline" }, t(note)) : null,
    qr ? el("figure", { class: "followup", id: "followup" },
      el("img", { src: qr, id: "followup-qr", alt: t("followup_qr"), width: 420, height: 420 }),
      el("figcaption", {}, t("followup_scan"))) : null,
    qr ? el("button", { type: "button", class: "secondary", id: "done", onclick: thanks.onDone }, t("done")) : null)]);
}
