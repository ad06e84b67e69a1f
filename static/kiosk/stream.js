/* Surveys arriving by themselves: the event stream pushes each handover at this counter
   as it happens; at each (re)connect and every 15 s the whole list of the counter's
   waiting surveys is read (GET /kiosk/api/waiting), so that what was handed over while
   the stream was down, or pushed out of it, is still offered. While the stream is down
   the list is read every 3 s (polling as the fallback). */
import { ServerTimeout, api } from "./util.js";
import { reportNetwork, reportOk, reportServer } from "./status.js";

const LIST_MS = 15_000;
const POLL_MS = 3000;
let source = null;
let handlers = null;
let lastList = 0;
let reading = false;

export function startStream(given) {
  // given: {onSurvey(card), onWaiting(cards, since), onUnpaired()}
  handlers = given;
  connect();
}

export function stopStream() {
  if (source) source.close();
  source = null;
  handlers = null;
}

function connect() {
  if (source || !handlers || !window.EventSource) return;
  source = new EventSource("/kiosk/api/events");
  source.addEventListener("ready", () => readList()); // after every (re)connect
  source.addEventListener("survey", (event) => handlers && handlers.onSurvey(JSON.parse(event.data)));
  source.addEventListener("unpaired", () => handlers && handlers.onUnpaired());
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, 3000);
    }
  };
}

/* The reply goes to the handlers that asked, while still the stream's: a list read for the
   old counter is not the list of the counter the tablet was paired at meanwhile (audit). */
export async function readList() {
  if (!handlers || reading) return;
  reading = true;
  const asking = handlers;
  const since = Date.now();
  lastList = since;
  try {
    const { status, data } = await api("GET", "/kiosk/api/waiting");
    const still = handlers === asking;
    if (status === 401) {
      if (still) asking.onUnpaired();
    } else if (status >= 500 || status === 429) {
      reportServer();
    } else if (status === 200) {
      reportOk();
      if (still) asking.onWaiting(data.surveys, since);
    }
  } catch (error) {
    if (error instanceof ServerTimeout) reportServer();
    else reportNetwork();
  } finally {
    reading = false;
  }
  // Paired anew while this one was out: the new counter's list, not 15 s later.
  if (handlers && handlers !== asking) readList();
}

setInterval(() => {
  if (!handlers) return;
  const down = !source || source.readyState !== EventSource.OPEN;
  if (down || Date.now() - lastList >= LIST_MS) readList();
}, POLL_MS);
window.addEventListener("online", () => readList());
