// Runs before the page's modules (page.js and what it imports). If one of them cannot load (a file
// missing after a partial upload, a host that does not serve .mjs files as JavaScript), the browser
// only logs it: the page says so instead of "Loading the model…" for ever. While the model and its
// runtime (up to 15 MB) come in over a slow connection, it says that it is still loading.
"use strict";

function lenetFailed(status, message) {
  // The pad and the drop zone are hidden (style.css): nothing there would be answered.
  document.documentElement.dataset.lenetState = "failed";
  document.querySelector("#status").textContent = status;
  const line = document.querySelector("#message");
  line.textContent = message;
  line.className = "error";
  document.querySelector("#announce").textContent = `${status}. ${message}`;
}

function whenParsed(then) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", then);
  else then();
}

// A script's load error does not bubble; a listener on window in the capture phase still hears it.
addEventListener(
  "error",
  (event) => {
    if (!(event.target instanceof HTMLScriptElement)) return;
    whenParsed(() =>
      lenetFailed(
        "The page could not start",
        "One of its files could not be loaded: upload the whole site again, and check that the host serves .js and .mjs files as JavaScript.",
      ),
    );
  },
  true,
);

setTimeout(
  () =>
    whenParsed(() => {
      if (document.documentElement.dataset.lenetState) return; // ready, or failed
      document.querySelector("#message").textContent = "Still loading: the model and its runtime are up to 15 MB.";
    }),
  8000,
);
