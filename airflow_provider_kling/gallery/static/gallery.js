// Links to Airflow's own pages. The UI shows this page in a sandboxed frame that may not navigate the window
// (no allow-top-navigation), but it is same-origin: hand the path to the UI's router (history + popstate),
// as the UI's own links do. Opened on its own (no frame), a link is an ordinary link.
"use strict";
document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[data-ui-link]") : null;
  if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || window.top === window) {
    return;
  }
  let top;
  try {
    top = window.top;
    void top.location.pathname; // throws when the top window is another origin
  } catch {
    return;
  }
  event.preventDefault();
  const index = (top.history.state && Number.isInteger(top.history.state.idx)) ? top.history.state.idx + 1 : 0;
  top.history.pushState({ usr: null, key: Math.random().toString(36).slice(2, 10), idx: index }, "",
                        link.getAttribute("href"));
  top.dispatchEvent(new PopStateEvent("popstate", { state: top.history.state }));
});

// Kling deletes results after 30 days: media that no longer loads says so instead of showing a broken player.
document.addEventListener("error", (event) => {
  const media = event.target;
  if (!(media instanceof HTMLMediaElement || media instanceof HTMLImageElement) || !media.closest(".media")) {
    return;
  }
  const note = document.createElement("div");
  note.className = "no-media";
  note.textContent = "no longer available (Kling keeps results 30 days; KlingDownloadOperator keeps them longer)";
  note.title = media.getAttribute("src") || "";
  media.replaceWith(note);
}, true);
