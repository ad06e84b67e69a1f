/* The status line (a polite live region in the header) says what is true now, and nothing
   when all is well:
   - "Mất kết nối mạng": the browser is offline, or the last call got no answer at all;
   - "Máy chủ chưa phản hồi": the network is up but the server timed out, answered 5xx or
     429, or an answer has been on its way longer than a few seconds;
   - "N câu trả lời đang chờ gửi": N answers in the outbox;
   - "N câu trả lời bị máy chủ từ chối": answers the server refused for good in the last
     day, for the clerk to report (the citizen had been thanked).
   Every completed call reports here (ok / network / server). */
import { $, KEYS, load, save, t } from "./util.js";

const REFUSED_SHOWN_MS = 24 * 3600 * 1000;

function refusedLately() {
  const now = Date.now();
  return load(KEYS.refused, []).filter((at) => now - at < REFUSED_SHOWN_MS);
}

/* An answer the server refused for good, other than "answered meanwhile" or "withdrawn"
   (outbox.js): the citizen had been thanked before the server's word, and the refusal was
   only in the server's log (kiosk audit). Shown for a day, for the clerk to report. */
export function noteRefused() {
  save(KEYS.refused, [...refusedLately(), Date.now()].slice(-100));
  drawStatus();
}

let problem = null; // null | "network" | "server": what the last completed call found
let stalled = false; // an answer is on its way and the server has not replied for a while

export function reportOk() {
  problem = null;
  drawStatus();
}
export function reportNetwork() {
  problem = "network";
  drawStatus();
}
export function reportServer() {
  problem = "server";
  drawStatus();
}
export function reportStalled(value) {
  stalled = value;
  drawStatus();
}

/* "network", "server" or null, as the status line says it. */
export function health() {
  if (!navigator.onLine || problem === "network") return "network";
  if (problem === "server" || stalled) return "server";
  return null;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text; // a live region: say it once
}

export function drawStatus() {
  const waiting = load(KEYS.outbox, []).length;
  const parts = [];
  const now = health();
  if (now === "network") parts.push(t("offline"));
  else if (now === "server") parts.push(t("server_down"));
  if (waiting > 0) parts.push(t("waiting", { n: waiting }));
  const refused = refusedLately().length;
  if (refused > 0) parts.push(t("refused", { n: refused }));
  const net = $("net");
  setText(net, parts.join(" · "));
  net.classList.toggle("warn", parts.length > 0);
  const note = $("idle-waiting"); // the idle screen says it in big letters too
  if (note) {
    setText(note, waiting > 0 ? "⏳ " + t("waiting", { n: waiting }) : "");
    note.hidden = waiting === 0;
  }
}

window.addEventListener("online", drawStatus);
window.addEventListener("offline", drawStatus);
