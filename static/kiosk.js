/* The counter kiosk. Screens: pairing, idle, code entry, one question at a time, the
   optional comment (with an optional contact, kept only with consent), thank-you (with
   the QR code of the citizen's private follow-up link when the comment got one). A survey
   arrives by itself (server-sent events, with polling as the fallback) or by a code the
   citizen types or scans. Answers go to an outbox in
   localStorage first and leave it only once the server has them, so a network drop or a
   reload loses nothing; each carries one client_submission_id, so nothing counts twice. */
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const config = JSON.parse($("kiosk-config").textContent);
  const TEXTS = { vi: JSON.parse($("texts-vi").textContent), en: JSON.parse($("texts-en").textContent) };
  const KEYS = { outbox: "hailong.kiosk.outbox", device: "hailong.kiosk.device", cursor: "hailong.kiosk.cursor" };
  const THANKS_SECONDS = 6;
  const NOTICE_SECONDS = 5;
  const SCAN_SECONDS = 60;
  const JSQR = "/static/vendor/jsQR-1.4.0.js";
  const TAP_GUARD_MS = 1000; // the send and find buttons: a second tap within it is ignored
  const SCREEN_GUARD_MS = 500; // a double tap must not also answer the next question
  const screen = $("screen");
  const foot = $("foot");

  let lang = "vi";
  let device = load(KEYS.device, null);
  let current = null; // {card, answers, step, id}
  // The thank-you screen shows a citizen's follow-up QR code: it stays, counting down like
  // a survey, until the idle reset or "Done" clears it (goIdle).
  let keeping = false;
  let waitingCard = null; // a survey that arrived while another citizen was answering
  let view = null; // re-draws the current screen (after a language switch)
  let idleAt = 0;
  let source = null;
  let flushing = Promise.resolve();
  let lastTap = 0;
  let shownAt = 0;

  // --- small helpers ----------------------------------------------------------------

  function load(key, fallback) {
    try {
      const raw = localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }
  function save(key, value) {
    localStorage.setItem(key, JSON.stringify(value));
  }
  function t(key, vars) {
    let text = TEXTS[lang][key] || TEXTS.vi[key] || key;
    for (const name in vars || {}) text = text.replace("{" + name + "}", String(vars[name]));
    return text;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "onclick") node.addEventListener("click", value);
      else if (name === "onsubmit") node.addEventListener("submit", value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function show(draw) {
    view = draw;
    shownAt = Date.now();
    screen.dataset.ready = "0";
    setTimeout(() => { if (Date.now() - shownAt >= SCREEN_GUARD_MS) screen.dataset.ready = "1"; }, SCREEN_GUARD_MS);
    screen.replaceChildren(...draw().filter((node) => node !== null));
    const heading = screen.querySelector("h1, h2");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
    drawChrome();
  }
  function tapOnce() {
    // A second tap within a second (a shaky finger, an impatient citizen) does nothing.
    const now = Date.now();
    if (now - lastTap < TAP_GUARD_MS) return false;
    lastTap = now;
    return true;
  }
  async function api(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options); // throws when the network is down
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    return { status: response.status, data };
  }

  // --- chrome: header, footer, language -----------------------------------------------

  function drawChrome() {
    document.documentElement.lang = lang;
    document.title = t("title");
    $("brand").textContent = t("title");
    const other = lang === "vi" ? "en" : "vi";
    const sw = $("switch");
    sw.textContent = lang === "vi" ? "English" : "Tiếng Việt";
    sw.setAttribute("lang", other);
    $("place").textContent = device ? device.agency_name + " · " + device.counter_code : "";
    const waiting = load(KEYS.outbox, []).length;
    const parts = [];
    if (!navigator.onLine) parts.push(t("offline"));
    if (waiting > 0) parts.push(t("waiting", { n: waiting }));
    $("net").textContent = parts.join(" · ");
    $("net").classList.toggle("warn", parts.length > 0);
    const note = $("idle-waiting"); // the idle screen says it in big letters too
    if (note) {
      note.textContent = waiting > 0 ? "⏳ " + t("waiting", { n: waiting }) : "";
      note.hidden = waiting === 0;
    }
  }
  $("switch").addEventListener("click", () => {
    lang = lang === "vi" ? "en" : "vi";
    touch();
    if (view) show(view);
  });

  // --- idle countdown ---------------------------------------------------------------------

  function busy() {
    return current !== null || keeping;
  }
  function touch() {
    if (busy()) idleAt = Date.now() + config.idle_seconds * 1000;
  }
  ["pointerdown", "keydown", "input"].forEach((kind) => document.addEventListener(kind, touch, true));
  // Full screen needs a user gesture: the first touch on the tablet asks for it.
  document.addEventListener("pointerdown", () => {
    const root = document.documentElement;
    if (!document.fullscreenElement && root.requestFullscreen) root.requestFullscreen().catch(() => {});
  }, { once: true });
  setInterval(() => {
    if (!busy()) {
      foot.replaceChildren();
      return;
    }
    const left = Math.max(0, Math.ceil((idleAt - Date.now()) / 1000));
    const fill = el("span", { class: "fill" });
    fill.style.width = (100 * left) / config.idle_seconds + "%"; // CSSOM: allowed by the CSP
    const bar = el("div", { class: "countdown" + (left <= 10 ? " soon" : "") },
      el("span", { class: "track", "aria-hidden": "true" }, fill),
      el("span", { id: "countdown" }, t("countdown", { s: left })));
    foot.replaceChildren(bar);
    if (left <= 0) goIdle();
  }, 250);

  // --- screens ----------------------------------------------------------------------

  function showPairing(message) {
    current = null;
    keeping = false;
    show(() => {
      const input = el("input", { id: "pair-code", name: "code", type: "text", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", maxlength: 12, required: true, "aria-describedby": "pair-hint" });
      const error = el("p", { class: "error", id: "pair-error", role: "alert" }, message || "");
      const form = el("form", { class: "stack", onsubmit: (event) => { event.preventDefault(); pair(input.value, error); } },
        el("label", { for: "pair-code", class: "label" }, t("pair_label")), input,
        el("button", { type: "submit", class: "primary" }, t("pair_button")), error);
      return [el("h1", {}, t("pair_title")), el("p", { id: "pair-hint", class: "hint" }, t("pair_hint")), form];
    });
  }

  async function pair(code, error) {
    try {
      const { status, data } = await api("POST", "/kiosk/api/pair", { code });
      if (status === 200) {
        device = data;
        save(KEYS.device, device);
        goIdle();
        connect();
      } else {
        error.textContent = status === 429 ? t("rate_limited") : t("pair_error");
      }
    } catch (e) {
      console.warn("pairing failed", e);
      error.textContent = t("pair_offline");
    }
  }

  function unpaired() {
    device = null;
    localStorage.removeItem(KEYS.device);
    if (source) source.close();
    source = null;
    showPairing();
  }

  function showIdle() {
    show(() => [
      el("div", { class: "idle" },
        el("h1", {}, t("idle_title")),
        el("p", { class: "hint" }, t("idle_hint")),
        el("div", { class: "pictogram", "aria-hidden": "true" }, "📋 ➜ 🙂"),
        el("p", { class: "note", id: "idle-waiting", hidden: true }),
        el("button", { type: "button", class: "secondary", id: "enter-code", onclick: () => showCodeEntry() }, "⌨️ ", t("enter_code")),
        navigator.mediaDevices && navigator.mediaDevices.getUserMedia ? el("button", { type: "button", class: "secondary", id: "scan", onclick: () => showScanner() }, "📷 ", t("scan")) : null),
    ]);
  }

  function showCodeEntry(message) {
    current = null;
    show(() => {
      const input = el("input", { id: "survey-code", type: "text", autocomplete: "off", autocapitalize: "characters", spellcheck: "false", maxlength: 64, required: true });
      const error = el("p", { class: "error", id: "code-error", role: "alert" }, message || "");
      const form = el("form", { class: "stack", onsubmit: (event) => { event.preventDefault(); if (tapOnce()) lookup(input.value, error); } },
        el("label", { for: "survey-code", class: "label" }, t("code_label")), input,
        el("button", { type: "submit", class: "primary" }, "🔍 ", t("find")),
        error,
        el("button", { type: "button", class: "secondary", onclick: () => goIdle() }, "← ", t("back")));
      return [el("h1", {}, t("enter_code")), form];
    });
  }

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = el("script", { src });
      script.addEventListener("load", resolve);
      script.addEventListener("error", reject);
      document.head.append(script);
    });
  }

  async function qrReader(video) {
    // BarcodeDetector where the platform has one (Chrome on Android); else jsQR, fetched
    // from hailong itself the first time someone scans.
    if ("BarcodeDetector" in window) {
      const formats = await window.BarcodeDetector.getSupportedFormats().catch(() => []);
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async () => {
          const codes = await detector.detect(video).catch(() => []);
          return codes.length > 0 ? codes[0].rawValue : null;
        };
      }
    }
    if (!window.jsQR) await loadScript(JSQR);
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    return async () => {
      if (!video.videoWidth) return null;
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      const frame = context.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(frame.data, frame.width, frame.height, { inversionAttempts: "dontInvert" });
      return found ? found.data : null;
    };
  }

  async function showScanner() {
    let stream = null;
    const video = el("video", { autoplay: true, playsinline: true, muted: true, class: "camera", id: "camera" });
    const stop = () => { if (stream) stream.getTracks().forEach((track) => track.stop()); stream = null; };
    const error = el("p", { class: "error", id: "scan-error", role: "alert" });
    show(() => [el("h1", {}, t("scan")), el("p", { class: "hint" }, t("scan_hint")), video, error,
      el("button", { type: "button", class: "secondary", onclick: () => { stop(); goIdle(); } }, "← ", t("back"))]);
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      video.srcObject = stream;
      const read = await qrReader(video);
      const started = Date.now();
      while (stream && Date.now() - started < SCAN_SECONDS * 1000) {
        const value = await read();
        if (value) {
          stop();
          await lookup(value, null);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } catch (e) {
      console.warn("camera unavailable", e);
      error.textContent = t("no_camera"); // typing the code still works
    }
    stop();
    if (screen.contains(video) && !error.textContent) showCodeEntry();
  }

  async function lookup(code, error) {
    const say = (key) => (error ? (error.textContent = t(key)) : showCodeEntry(t(key)));
    try {
      const { status, data } = await api("POST", "/kiosk/api/lookup", { code: code.trim() });
      if (status === 200) startSurvey(data);
      else if (status === 401) unpaired();
      else if (status === 409) showNotice(t("already"));
      else if (status === 410) showNotice(t("gone"));
      else if (status === 429) say("rate_limited");
      else say("not_found");
    } catch (e) {
      say("offline");
    }
  }

  function showNotice(text) {
    current = null;
    show(() => [el("div", { class: "thanks" }, el("div", { class: "pictogram", "aria-hidden": "true" }, "ℹ️"), el("h1", {}, text))]);
    setTimeout(() => { if (!busy()) goIdle(); }, NOTICE_SECONDS * 1000);
  }

  function dossierBox(card) {
    return el("section", { class: "dossier", "aria-label": t("dossier") },
      el("p", { class: "agency" }, card.agency_name),
      card.procedure_name ? el("p", { class: "procedure" }, card.procedure_name) : null,
      el("p", { class: "code" }, t("dossier") + ": ", el("strong", {}, card.dossier_code)));
  }

  function startSurvey(card) {
    current = { card, answers: {}, step: 0, id: newId() };
    lang = card.language === "en" ? "en" : "vi";
    touch();
    showStep();
  }

  function showStep() {
    const questions = config.questions;
    if (current.step >= questions.length) return showComment();
    const q = questions[current.step];
    show(() => {
      const buttons = q.answers.map((a) =>
        el("button", { type: "button", class: "answer" + (current.answers[q.field] === a.value ? " picked" : ""), "data-value": a.value, "aria-pressed": current.answers[q.field] === a.value ? "true" : "false",
          onclick: (event) => {
            if (!current || Date.now() - shownAt < SCREEN_GUARD_MS || questions[current.step] !== q) return;
            screen.dataset.ready = "0"; // the next screen is coming
            event.currentTarget.classList.add("picked");
            current.answers[q.field] = a.value;
            current.step += 1;
            setTimeout(showStep, 150);
          } },
        el("span", { class: "icon", "aria-hidden": "true" }, config.icons[a.icon] || ""),
        el("span", { class: "label" }, a.label[lang])));
      return [
        dossierBox(current.card),
        el("p", { class: "progress" }, t("question_of", { n: current.step + 1, total: questions.length })),
        el("h1", { class: "question", id: "question" }, q.text[lang]),
        el("div", { class: "answers answers-" + q.answers.length, role: "group", "aria-labelledby": "question" }, ...buttons),
        current.step > 0 ? el("button", { type: "button", class: "secondary back", onclick: () => { current.step -= 1; showStep(); } }, "← ", t("back")) : null,
      ];
    });
  }

  function showComment() {
    show(() => {
      const box = el("textarea", { id: "complaint", rows: 4, maxlength: config.complaint_max, "aria-describedby": "complaint-hint" });
      box.value = current.answers.__complaint || "";
      box.addEventListener("input", () => { current.answers.__complaint = box.value; });
      // A comment, or a petition the agency must answer: the citizen says which.
      const choices = [[false, t("just_comment")], [true, t("wants_reply")]].map(([wants, label]) =>
        el("button", { type: "button", class: "secondary reply-choice", "aria-pressed": String(Boolean(current.answers.__wants_reply) === wants),
          onclick: (event) => {
            current.answers.__wants_reply = wants;
            for (const b of event.currentTarget.parentNode.children) b.setAttribute("aria-pressed", String(b === event.currentTarget));
          } }, label));
      // The contact and consent of the phone form; the server checks them (422 names the
      // field, and the screen comes back with the problem next to it).
      const problem = current.contactProblem ? t(current.contactProblem) : "";
      const contact = el("input", { id: "contact", class: "contact", type: "text", autocomplete: "tel", autocapitalize: "off", spellcheck: "false", maxlength: 255,
        "aria-describedby": problem ? "contact-error" : null, "aria-invalid": problem ? "true" : null });
      contact.value = current.answers.__contact || "";
      contact.addEventListener("input", () => { current.answers.__contact = contact.value; });
      const consent = el("input", { id: "consent", type: "checkbox", checked: Boolean(current.answers.__consent) });
      consent.addEventListener("change", () => { current.answers.__consent = consent.checked; });
      return [
        dossierBox(current.card),
        el("h1", {}, el("label", { for: "complaint" }, t("complaint"))),
        el("p", { class: "hint", id: "complaint-hint" }, t("complaint_hint")),
        box,
        el("div", { class: "reply-choices", role: "group", "aria-label": t("wants_reply_question") }, ...choices),
        el("div", { class: "contact-box" + (problem ? " has-error" : "") },
          el("label", { for: "contact", class: "label" }, t("contact")),
          problem ? el("p", { class: "error", id: "contact-error", role: "alert" }, problem) : null,
          contact,
          el("label", { class: "consent", for: "consent" }, consent, " ", t("consent"))),
        el("button", { type: "button", class: "primary", id: "send", onclick: () => { if (tapOnce()) send(); } }, "✔ ", t("send")),
        el("button", { type: "button", class: "secondary back", onclick: () => { current.step -= 1; showStep(); } }, "← ", t("back")),
      ];
    });
  }

  async function send() {
    current.contactProblem = null;
    const answers = {};
    for (const q of config.questions) if (current.answers[q.field]) answers[q.field] = current.answers[q.field];
    const complaint = (current.answers.__complaint || "").trim();
    if (complaint) answers.complaint = complaint;
    if (complaint && current.answers.__wants_reply) answers.wants_reply = true;
    const item = { survey_id: current.card.survey_id, answers, client_submission_id: current.id, answered_at: new Date().toISOString() };
    const contact = (current.answers.__contact || "").trim();
    if (contact) {
      item.contact = contact;
      item.contact_consent = Boolean(current.answers.__consent);
    }
    // Kept on the device first: from here on, neither a network drop nor a reload loses it.
    const outbox = load(KEYS.outbox, []);
    if (!outbox.some((queued) => queued.client_submission_id === item.client_submission_id)) outbox.push(item);
    save(KEYS.outbox, outbox);
    const answered = await flush();
    const result = answered[item.client_submission_id];
    const status = result ? result.status : undefined;
    const fields = (result && result.data && result.data.fields) || [];
    if (status === 409) showNotice(t("already")); // answered meanwhile, e.g. on a phone
    else if (status === 410) showNotice(t("gone"));
    else if (status === 422 && current && fields.some((f) => f.field === "contact")) {
      // Nothing was stored: the comment screen again, the problem next to the contact.
      current.contactProblem = item.contact_consent ? "contact_invalid" : "contact_consent";
      showComment();
    } else {
      // undefined: still in the outbox (offline). The follow-up link only lives in this
      // screen's memory: never in the outbox, never in storage.
      const link = result && result.data ? result.data.followup_url : null;
      showThanks(status === undefined, link || null);
    }
  }

  function followupQrPath(link) {
    // The QR code from hailong itself (same origin; the server draws it for real follow-up
    // links only and lets no cache keep it).
    try {
      return new URL(link).pathname + "/qr.svg";
    } catch (e) {
      return null;
    }
  }

  function showThanks(savedOffline, followupUrl) {
    current = null;
    const qr = followupUrl ? followupQrPath(followupUrl) : null;
    keeping = qr !== null;
    if (keeping) idleAt = Date.now() + config.idle_seconds * 1000;
    show(() => [el("div", { class: "thanks" },
      qr ? null : el("div", { class: "pictogram", "aria-hidden": "true" }, "🙏"),
      el("h1", {}, t("thanks_title")),
      el("p", { class: "hint" }, t("thanks_hint")),
      savedOffline ? el("p", { class: "note", id: "saved-offline" }, t("saved_offline")) : null,
      qr ? el("figure", { class: "followup", id: "followup" },
        el("img", { src: qr, id: "followup-qr", alt: t("followup_qr"), width: 420, height: 420 }),
        el("figcaption", {}, t("followup_scan"))) : null,
      qr ? el("button", { type: "button", class: "secondary", id: "done", onclick: () => goIdle() }, t("done")) : null)]);
    if (!keeping) setTimeout(() => { if (!busy()) goIdle(); }, THANKS_SECONDS * 1000);
  }

  function goIdle() {
    current = null;
    keeping = false; // the follow-up QR goes with the screen it was on
    lang = "vi";
    const next = waitingCard;
    waitingCard = null;
    if (next) startSurvey(next);
    else if (device) showIdle();
    else showPairing();
  }

  // --- the outbox -----------------------------------------------------------------------

  function flush() {
    // One flush at a time: a call made while another runs waits for it, then runs, so
    // every caller sees its own answer's fate and nothing is posted twice at once.
    const run = flushing.then(sendQueued);
    flushing = run.catch(() => {});
    return run;
  }

  async function sendQueued() {
    // Sends the queued answers in order; returns {submission id: {status, data}} of those
    // that left the outbox (2xx: stored; 4xx such as 409: final, sending again is useless).
    const delivered = {};
    try {
      for (const item of load(KEYS.outbox, [])) {
        let status, data;
        try {
          ({ status, data } = await api("POST", "/kiosk/api/answers", item));
        } catch (e) {
          break; // offline: try again later
        }
        if (status === 401 || status === 429 || status >= 500) break;
        delivered[item.client_submission_id] = { status, data };
        save(KEYS.outbox, load(KEYS.outbox, []).filter((queued) => queued.client_submission_id !== item.client_submission_id));
      }
    } finally {
      drawChrome();
    }
    return delivered;
  }
  setInterval(() => { if (load(KEYS.outbox, []).length > 0) flush(); }, 5000);
  window.addEventListener("online", () => { drawChrome(); flush(); catchUp(); });
  window.addEventListener("offline", drawChrome);

  // --- surveys arriving -----------------------------------------------------------------

  function offer(card) {
    save(KEYS.cursor, Math.max(load(KEYS.cursor, 0), card.cursor));
    if (current) {
      if (current.card.survey_id !== card.survey_id) waitingCard = card;
      return;
    }
    if (keeping) {
      waitingCard = card; // after the follow-up QR: "Done" or the idle reset
      return;
    }
    startSurvey(card);
  }

  async function catchUp() {
    if (!device) return;
    const after = load(KEYS.cursor, null);
    try {
      const { status, data } = await api("GET", "/kiosk/api/next" + (after === null ? "" : "?after=" + after));
      if (status === 401) return unpaired();
      if (status === 200 && data.survey) offer(data.survey);
    } catch (e) {
      /* offline: the next look will do */
    }
  }

  function connect() {
    if (source || !device || !window.EventSource) return;
    source = new EventSource("/kiosk/api/events");
    source.addEventListener("ready", catchUp); // after every (re)connect: what was missed
    source.addEventListener("survey", (event) => offer(JSON.parse(event.data)));
    source.addEventListener("unpaired", unpaired);
    source.onerror = () => {
      if (source && source.readyState === EventSource.CLOSED) {
        source = null;
        setTimeout(connect, 3000);
      }
    };
  }
  // Polling as the fallback, while the event stream is down.
  setInterval(() => {
    if (device && (!source || source.readyState !== EventSource.OPEN)) catchUp();
  }, 3000);

  // --- start ------------------------------------------------------------------------------

  async function start() {
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/kiosk/sw.js", { scope: "/kiosk" }).catch(() => {});
    }
    try {
      const { status, data } = await api("GET", "/kiosk/api/state");
      if (status === 401) return unpaired();
      if (status === 200) {
        device = data;
        save(KEYS.device, device);
      }
    } catch (e) {
      /* offline: carry on as the device we were */
    }
    goIdle();
    connect();
    flush();
  }
  window.hailongKiosk = { flush, outbox: () => load(KEYS.outbox, []) };
  start();
})();
