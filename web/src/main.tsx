import { render } from "preact";
import { App } from "./app.tsx";
import { loadLocale, locale } from "./i18n/i18n.ts";
import { loadCurrentUser } from "./lib/shop.ts";
import "./styles.css";

void loadCurrentUser();
// A Chinese page waits for its text (one small chunk) rather than flashing English first; English is built in.
// If that chunk can't be had (offline without the service worker's copy), the page shows in English.
loadLocale(locale.value)
  .catch(() => {
    locale.value = "en";
  })
  .finally(() => render(<App />, document.getElementById("app")!));

// The service worker caches the app shell only (see web/sw/sw.ts); API answers always go to the network.
if ("serviceWorker" in navigator && import.meta.env.MODE !== "development") {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
      // No offline shell (private mode, say): the app works the same online.
    });
  });
}
