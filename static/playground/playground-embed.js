// For documentation authors: include this script on your page and mark code
// with the snippet it comes from,
//
//   <script src="https://PLAYGROUND/static/playground/playground-embed.js" defer></script>
//   <pre data-playground="SNIPPET_ID" data-theme="dark">print("hello")</pre>
//
// and each marked <pre> becomes a runnable embed once the playground has
// loaded inside it; until then, or if it cannot load, the <pre> stays as it
// is. Optional attributes: data-theme (light, dark, auto), data-readonly,
// data-autorun, data-hide ("stdin", "editor,stdin", ...).
//
// The script also sizes every frame of this playground that was opened with
// height=auto, including iframes you wrote yourself.
"use strict";

(() => {
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src, location.href).origin;
  const READY_TIMEOUT_MS = 15000;
  const waiting = new Map(); // frame -> the <pre> it replaces

  function frameFor(event) {
    for (const frame of document.querySelectorAll("iframe")) {
      if (frame.contentWindow === event.source) return frame;
    }
    return null;
  }

  function onMessage(event) {
    if (event.origin !== origin || typeof event.data !== "object") return;
    const frame = frameFor(event);
    if (!frame) return;
    const { type, height } = event.data ?? {};
    if (type === "playground:height" && Number.isFinite(height) && height > 0) {
      frame.style.height = `${Math.min(height, 5000)}px`;
    } else if (type === "playground:ready" && waiting.has(frame)) {
      waiting.get(frame).hidden = true;
      waiting.delete(frame);
      frame.hidden = false;
    }
  }

  function embedUrl(pre) {
    const url = new URL(`/embed/${encodeURIComponent(pre.dataset.playground)}`, origin);
    url.searchParams.set("height", "auto");
    for (const name of ["theme", "hide"]) {
      if (pre.dataset[name]) url.searchParams.set(name, pre.dataset[name]);
    }
    for (const flag of ["readonly", "autorun"]) {
      if (flag in pre.dataset) url.searchParams.set(flag, "1");
    }
    return url.href;
  }

  function upgrade(pre) {
    const frame = document.createElement("iframe");
    frame.src = embedUrl(pre);
    frame.title = `Runnable example ${pre.dataset.playground}`;
    frame.className = "playground-embed";
    frame.hidden = true; // shown when the playground says it is ready
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.height = "20em";
    waiting.set(frame, pre);
    pre.after(frame);
    setTimeout(() => {
      if (waiting.has(frame)) {
        waiting.delete(frame);
        frame.remove(); // the <pre> stays: a reader still sees the code
      }
    }, READY_TIMEOUT_MS);
  }

  window.addEventListener("message", onMessage);
  const start = () => document.querySelectorAll("pre[data-playground]").forEach(upgrade);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
