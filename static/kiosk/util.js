/* Small helpers every kiosk module shares: the page's config and texts, localStorage,
   building DOM nodes, and the one way to call the server (with a time limit). */

export const $ = (id) => document.getElementById(id);
export const config = JSON.parse($("kiosk-config").textContent);
const TEXTS = { vi: JSON.parse($("texts-vi").textContent), en: JSON.parse($("texts-en").textContent) };
export const KEYS = {
  outbox: "hailong.kiosk.outbox",
  device: "hailong.kiosk.device",
  handled: "hailong.kiosk.handled",
  refused: "hailong.kiosk.refused", // when answers were refused for good (status.js says so)
};
export const i18n = { lang: "vi" };

/* `vars.n` of 1 takes the key's "_one" words where there are some: "1 answers" (audit). */
export function t(key, vars) {
  const one = vars && vars.n === 1 ? key + "_one" : key;
  let text = TEXTS[i18n.lang][one] || TEXTS[i18n.lang][key] || TEXTS.vi[key] || key;
  for (const name in vars || {}) text = text.replace("{" + name + "}", String(vars[name]));
  return text;
}

export function load(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

/* true once stored. A full localStorage (a quota error) first gives up what can be given
   up (the list of surveys done with: it only keeps them from coming back) and tries again;
   false if the value still cannot be kept: the caller says so, never silently. */
export function save(key, value) {
  const text = JSON.stringify(value);
  try {
    localStorage.setItem(key, text);
    return true;
  } catch (error) {
    console.warn("localStorage refused " + key, error);
  }
  try {
    if (key !== KEYS.handled) localStorage.removeItem(KEYS.handled);
    localStorage.setItem(key, text);
    return true;
  } catch (error) {
    console.error("localStorage is full: " + key + " not kept", error);
    return false;
  }
}

export function el(tag, attrs, ...children) {
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

/* A button's pictogram (⌨️, ←): seen, not read out ("keyboard", "left arrow") before the
   button's words by a screen reader (accessibility audit). */
export function deco(text) {
  return el("span", { "aria-hidden": "true" }, text);
}

export function newId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* The server took longer than the call's limit: it is up (or the network is), not answering. */
export class ServerTimeout extends Error {}

export async function api(method, path, body, timeoutMs = 10_000, headers = {}) {
  // Resolves {status, data, retryAfter}; rejects with ServerTimeout after timeoutMs, or with
  // the browser's TypeError when no answer came at all (no network, connection refused,
  // reset). retryAfter: the seconds a 429 or 503 asks to wait (Retry-After), else null.
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const options = { method, headers: { ...headers, Accept: "application/json" }, credentials: "same-origin", signal: controller.signal };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  try {
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { status: response.status, data, retryAfter: retryAfterSeconds(response) };
  } catch (error) {
    if (controller.signal.aborted) throw new ServerTimeout(method + " " + path);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/* Retry-After in seconds (a number of seconds, or an HTTP date), or null. */
function retryAfterSeconds(response) {
  const value = response.headers.get("Retry-After");
  if (!value) return null;
  const seconds = /^\d+$/.test(value.trim()) ? Number(value) : (Date.parse(value) - Date.now()) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? seconds : null;
}
