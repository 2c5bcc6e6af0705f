// Sharing from the page: the Share button saves the editor's state as a
// snippet (POST /api/snippets) and shows its permanent link; a page opened
// from an embed's "Open in playground" loads the state carried in its URL
// fragment (#fork=...) and shares it as a fork of that snippet.
"use strict";

(() => {
  const byId = (id) => document.getElementById(id);
  const button = byId("share");
  const pg = window.playground;
  if (!button || !pg) return;

  const pageElement = byId("page-data");
  const pageData = (pageElement && JSON.parse(pageElement.textContent)) || {};
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  let parent = pageData.snippet?.id ?? null;
  const options = pageData.snippet?.options ?? {};

  function say(text) {
    byId("share-status").textContent = text;
  }

  async function share() {
    button.disabled = true;
    say("Sharing…");
    try {
      const body = { ...pg.state(), options, parent };
      const response = await fetch("/api/snippets", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        say(`Not shared: ${answer.message ?? `the server answered ${response.status}`}`);
        return;
      }
      shown(answer);
    } catch {
      say("Not shared: the playground server could not be reached");
    } finally {
      button.disabled = false;
    }
  }

  function link(id) {
    const a = document.createElement("a");
    a.href = `/s/${id}`;
    a.textContent = id;
    return a;
  }

  // The bar names the snippet now shown, and its parent, as /s/<id> would.
  function describe(answer) {
    let origin = byId("snippet-origin");
    if (!origin) {
      origin = document.createElement("p");
      origin.id = "snippet-origin";
      origin.className = "snippet-origin";
      byId("fork-origin").before(origin);
    }
    origin.replaceChildren("Snippet ", link(answer.id));
    if (answer.parent) origin.append(", a fork of ", link(answer.parent));
    byId("fork-origin").hidden = true;
  }

  function shown(answer) {
    byId("share-result").hidden = false;
    byId("share-link").value = answer.url;
    describe(answer);
    say(answer.parent ? `Shared as a fork of ${answer.parent}` : "Shared");
    // The address bar shows the permanent link; editing and sharing again
    // makes a fork of it.
    history.replaceState(null, "", new URL(answer.url).pathname);
    parent = answer.id;
  }

  async function copy() {
    const link = byId("share-link");
    link.select();
    try {
      await navigator.clipboard.writeText(link.value);
      say("Link copied");
    } catch {
      say("Select the link and copy it (Ctrl+C)");
    }
  }

  const isText = (value) => typeof value === "string";

  // The state embed.js writes: anything else (a hand-made or cut link) is
  // refused whole rather than half loaded.
  const isFile = (f) =>
    Boolean(f) && isText(f.content) && (f.name === undefined || isText(f.name));
  const isTexts = (list) => Array.isArray(list) && list.every(isText);

  function isState(state) {
    return Boolean(state) && typeof state === "object"
      && isText(state.language) && isText(state.version)
      && Array.isArray(state.files) && state.files.length > 0
      && state.files.every(isFile)
      && (state.stdin === undefined || isText(state.stdin))
      && (state.args === undefined || isTexts(state.args));
  }

  function decodeFork(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const state = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    if (!isState(state)) throw new Error("not the state of an embed");
    return state;
  }

  // "#fork=<base64url JSON>": the exact state of an embed, not yet shared.
  function loadFork() {
    const match = /^#fork=([A-Za-z0-9_-]+)$/.exec(location.hash);
    if (!match) return;
    let state;
    try {
      state = decodeFork(match[1]);
    } catch {
      say("The link's edited code could not be read; showing the snippet");
      return;
    }
    pg.load(state);
    const note = byId("fork-origin");
    note.textContent = `Edited from snippet ${parent}: press Share to save it as a fork`;
    note.hidden = false;
  }

  button.addEventListener("click", share);
  button.disabled = false; // the page starts it disabled until this script runs
  byId("copy-link").addEventListener("click", copy);
  loadFork();
})();
