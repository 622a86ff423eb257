import { render } from "preact";
import { App } from "./app.tsx";
import { loadCurrentUser } from "./lib/shop.ts";
import "./styles.css";

void loadCurrentUser();
render(<App />, document.getElementById("app")!);

// The service worker caches the app shell only (see web/sw/sw.ts); API answers always go to the network.
if ("serviceWorker" in navigator && import.meta.env.MODE !== "development") {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
      // No offline shell (private mode, say): the app works the same online.
    });
  });
}
