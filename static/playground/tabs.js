// On a phone-sized screen the page shows one section at a time (Code,
// Input, Output) under the top bar, which keeps Run in reach. A run shows
// its output; wider screens ignore the tabs (share.css hides them).
"use strict";

(() => {
  const workspace = document.querySelector(".workspace");
  const tabs = document.querySelectorAll(".tabs .tab");
  if (!workspace || tabs.length === 0) return;

  function show(name) {
    workspace.dataset.tab = name;
    for (const tab of tabs) {
      tab.setAttribute("aria-pressed", String(tab.dataset.tab === name));
    }
  }

  for (const tab of tabs) {
    tab.addEventListener("click", () => show(tab.dataset.tab));
  }
  document.addEventListener("playground:run", () => show("output"));
})();
