// The embed page inside someone else's page: autorun, "Open in playground"
// with the exact state (as a fork when edited), and, with height=auto, the
// page's height posted to the parent window, where playground-embed.js
// resizes the frame.
"use strict";

(() => {
  const pg = window.playground;
  const dataElement = document.getElementById("page-data");
  const data = dataElement ? JSON.parse(dataElement.textContent) : null;
  if (!pg || !data?.embed) return;
  const { snippet, embed } = data;
  const saved = JSON.stringify(pg.state());

  function encodeFork(state) {
    const bytes = new TextEncoder().encode(JSON.stringify(state));
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // Unchanged code opens the snippet itself; edited code travels in the
  // fragment, which never reaches a server log, and is shared from there.
  const open = document.getElementById("open-in-playground");
  open.addEventListener("click", () => {
    const state = pg.state();
    const edited = JSON.stringify(state) !== saved;
    open.hash = edited ? `fork=${encodeFork(state)}` : "";
  });

  function postHeight() {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({ type: "playground:height", id: snippet.id, height }, "*");
  }

  if (embed.height_auto && window.parent !== window) {
    new ResizeObserver(postHeight).observe(document.body);
    postHeight();
  }
  if (window.parent !== window) {
    window.parent.postMessage({ type: "playground:ready", id: snippet.id }, "*");
  }
  if (embed.autorun) pg.run();
})();
