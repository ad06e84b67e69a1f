/* The kiosk's service worker: keeps the page and its files so that the tablet still shows
   its screens, and keeps its outbox of answers, while the network is down. The page is
   fetched from the network first (a new questionnaire or fix arrives at once) and from the
   cache when the network fails or the server answers 5xx. API calls are never cached. */
const CACHE = "hailong-kiosk-v2";
const MODULES = ["main", "util", "status", "outbox", "queue", "stream", "screens", "scanner"];
const SHELL = ["/kiosk", "/static/kiosk.css", ...MODULES.map((name) => "/static/kiosk/" + name + ".js")];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!SHELL.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        // A 5xx (a deploy, a proxy without its upstream) is no better than no network:
        // the kept page goes on (and its outbox with it), if there is one.
        if (response.status >= 500) return caches.match(url.pathname).then((kept) => kept || response);
        return response;
      })
      .catch(() => caches.match(url.pathname)),
  );
});
