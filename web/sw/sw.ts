/**
 * MiniShop's service worker: the app shell offline, nothing else.
 *
 * Precached at install: index.html (as "/"), the built JS/CSS, the manifest and icons — the list is written
 * into this file at build time (`__PRECACHE__`), so every deploy is a new worker with its own cache.
 *
 * Never cached, never even looked at: /api/*, /admin/*, /healthz, /readyz, /metrics — sale stock, orders and
 * sessions must always be live (a cached "remaining: 40" would be a lie), and a merchant's answers carry data
 * that must not sit on disk. Those requests are not intercepted at all.
 *
 * Navigations go to the network first (fresh shell after a deploy) and fall back to the cached shell offline;
 * the hashed assets are immutable, so they are served from the cache first.
 */
declare const __PRECACHE__: { version: string; files: string[] };

const sw = self as unknown as ServiceWorkerGlobalScope;
const CACHE = `minishop-shell-${__PRECACHE__.version}`;
const SHELL = "/";
const NAVIGATION_TIMEOUT_MS = 4_000;

function isNeverCached(url: URL): boolean {
  return (
    url.origin !== sw.location.origin ||
    url.pathname.startsWith("/api/") ||
    url.pathname.startsWith("/admin/api/") ||
    ["/healthz", "/readyz", "/metrics", "/sw.js"].includes(url.pathname)
  );
}

sw.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll([SHELL, ...__PRECACHE__.files.map((f) => `/${f}`)]);
      await sw.skipWaiting();
    })(),
  );
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names.filter((n) => n.startsWith("minishop-shell-") && n !== CACHE).map((n) => caches.delete(n)),
      );
      await sw.clients.claim();
    })(),
  );
});

async function networkFirstShell(request: Request): Promise<Response> {
  const cache = await caches.open(CACHE);
  try {
    const response = await Promise.race([
      fetch(request),
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("navigation timeout")), NAVIGATION_TIMEOUT_MS),
      ),
    ]);
    // Deep links get the same shell (the gateway's SPA fallback); keep the newest one.
    if (response.ok && response.headers.get("Content-Type")?.includes("text/html")) {
      await cache.put(SHELL, response.clone());
    }
    return response;
  } catch {
    const shell = await cache.match(SHELL);
    return shell ?? Response.error();
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cached = await caches.match(request, { cacheName: CACHE });
  return cached ?? fetch(request);
}

sw.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (isNeverCached(url)) return;
  if (request.mode === "navigate") {
    event.respondWith(networkFirstShell(request));
    return;
  }
  if (__PRECACHE__.files.includes(url.pathname.slice(1))) event.respondWith(cacheFirst(request));
});

export {};
