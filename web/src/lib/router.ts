/**
 * A small History API router: the path is a signal, links push state, and the gateway's single-page-app
 * fallback serves the shell for any deep link. After a navigation the new page's heading takes focus, so
 * screen-reader and keyboard users start at the top of what changed.
 */
import { signal } from "@preact/signals";

export const currentPath = signal(typeof location === "undefined" ? "/" : location.pathname);
export const currentSearch = signal(typeof location === "undefined" ? "" : location.search);

function syncFromLocation() {
  currentPath.value = location.pathname;
  currentSearch.value = location.search;
}

if (typeof window !== "undefined") window.addEventListener("popstate", syncFromLocation);

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  syncFromLocation();
  window.scrollTo?.(0, 0);
}

/** Matches `/sales/:id` style patterns; returns the decoded params, or null. */
export function matchRoute(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
    } else if (want[i] !== got[i]) return null;
  }
  return params;
}

/** A same-site path from `?next=`, never another origin (an open redirect would be a phishing aid). */
export function safeNext(search: string, fallback = "/"): string {
  const next = new URLSearchParams(search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : fallback;
}
