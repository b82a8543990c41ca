// The page: the drawing pad (pad.js) read live by window.lenet (lenet.js), pictures dropped or picked, the
// top-3 with bars and what the model sees; the theme; and the answers handed to a page that embeds this one.
//
// window.lenetResult: the latest settled answer for the drawing pad, {top, input} or {error}; null when blank.
// After each settled answer, and each picture read, the page posts to window.parent (an embedding quiz
// can react), with source "drawing" or "file": {type: "lenet:prediction", top}; {type: "lenet:no-answer",
// error} for a refusal ("no digit found ..."); {type: "lenet:cleared"} once the pad is cleared.

import C from "./contract.js";
import "./lenet.js"; // window.lenet

const $ = (selector) => document.querySelector(selector);
let latest = null; // the pad's latest answer, settled or not
let fileRead = 0; // the latest picture asked for: an earlier one's answer, coming later, is dropped
window.lenetResult = null;

// The theme: ?theme=light or dark for this visit (a link, an embedding page), else the visitor's own
// choice with the toggle, remembered, else the system's. Only the toggle's choice is remembered.
const THEMES = ["light", "dark"];
function theme(name, remember) {
  document.documentElement.dataset.theme = name;
  $("#theme").setAttribute("aria-pressed", String(name === "dark"));
  if (!remember) return;
  try {
    localStorage.setItem("lenet-theme", name);
  } catch {} // storage can be off (a sandboxed iframe)
}
const asked = new URLSearchParams(location.search).get("theme");
let saved = null;
try {
  saved = localStorage.getItem("lenet-theme");
} catch {}
const system = matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
theme([asked, saved].find((name) => THEMES.includes(name)) || system, false);
$("#theme").addEventListener("click", () => theme(document.documentElement.dataset.theme === "dark" ? "light" : "dark", true));

function failed() {
  return document.documentElement.dataset.lenetState === "failed"; // boot.js's message stays
}

function sentence(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function show(answer, note = "") {
  if (failed()) return;
  const seen = $("#seen").getContext("2d");
  const list = $("#top3");
  list.replaceChildren();
  seen.clearRect(0, 0, C.SIZE, C.SIZE);
  $("#message").className = "";
  if (!answer) {
    $("#status").textContent = "Draw a digit";
    $("#message").textContent = note;
    return;
  }
  if (answer.error) {
    $("#status").textContent = "No answer";
    $("#message").replaceChildren(sentence(answer.error), note && " ", note); // "No digit found: ..."
    $("#message").className = "error";
    return;
  }
  const [best] = answer.top;
  $("#status").textContent = `It reads ${best.label} (${(100 * best.probability).toFixed(1)}%)`;
  for (const { label, probability } of answer.top) {
    const item = document.createElement("li");
    item.innerHTML = '<span class="digit"></span><span class="bar"><span></span></span><span class="percent"></span>';
    item.querySelector(".digit").textContent = label;
    item.querySelector(".bar span").style.width = `${(100 * probability).toFixed(1)}%`;
    item.querySelector(".percent").textContent = `${(100 * probability).toFixed(1)}%`;
    list.append(item);
  }
  seen.putImageData(answer.input, 0, 0);
  $("#message").replaceChildren(note);
}

function post(answer, source) {
  if (window.parent === window) return;
  let message = { type: "lenet:prediction", top: answer?.top, source };
  if (!answer) message = { type: "lenet:cleared", source };
  else if (answer.error) message = { type: "lenet:no-answer", error: answer.error, source };
  window.parent.postMessage(message, "*");
}

// The settled answer, for a screen reader (#announce): once, not at each provisional answer. Its parts
// joined as sentences ("Loading the model…" takes no second full stop).
function announce() {
  const parts = [$("#status").textContent, $("#message").textContent].map((text) => text.trim()).filter(Boolean);
  $("#announce").textContent = parts.reduce((said, part) => (!said || /[.!?…:]$/.test(said) ? `${said} ${part}`.trim() : `${said}. ${part}`), "");
}

// Why the model did not load, in words a visitor or the site's owner can act on; the details go to the console.
async function loadFailure(error) {
  console.error("lenet: the model could not be loaded:", error);
  if (typeof WebAssembly !== "object")
    return ["This browser cannot run the model", "It needs WebAssembly, which is missing or turned off here: try a current Chrome, Edge, Firefox or Safari."];
  for (const [file, what] of [
    [C.MODEL_FILE, "model"],
    [C.RUNTIME_FILES.find((name) => name.endsWith(".wasm")), "runtime"],
  ]) {
    let response = null;
    try {
      response = await fetch(file, { method: "HEAD", cache: "no-store" });
    } catch {}
    if (!response) return ["The model could not be downloaded", "Check the connection, then reload the page."];
    if (response.status === 404 || response.status === 410)
      return [`The ${what} is missing`, `This site has no ${file} (HTTP ${response.status}): upload the whole site again.`];
    if (!response.ok)
      return ["The model could not be downloaded", `The site's host answered HTTP ${response.status} for ${file}: reload the page in a while.`];
  }
  return [
    "The model could not be started",
    "Its file or the runtime's may be damaged: build the site again and upload all of it. A browser without WebAssembly SIMD cannot run it either: try a current Chrome, Edge, Firefox or Safari.",
  ];
}

async function answer(source) {
  try {
    const { top, input, isInk } = await window.lenet.predict(source);
    return { top, input, isInk };
  } catch (error) {
    if (error instanceof TypeError) throw error; // a bug, not an image
    return { error: error.message };
  }
}

// A note under a picture's answer: which picture it is about (a drawing may still be on the pad), and
// for a photo, that the app, with the server's pipeline, reads hard photos best.
function photoNote(result, name) {
  const note = document.createElement("span");
  note.append(`(${name || "the picture"})`);
  if (result.isInk || result.error || !C.APP_URL) return note;
  const link = Object.assign(document.createElement("a"), { href: C.APP_URL, textContent: "the full app", target: "_blank", rel: "noopener" });
  note.append(" Photos are read here with the app's own steps; for a hard one (a shadow, uneven light) ", link, " is the surer reader.");
  return note;
}

// Files first: a picture dropped while the model loads must not make the browser open it instead.
$("#file").addEventListener("change", (event) => {
  readFile(event.target.files[0]);
  event.target.value = ""; // the same picture picked again is read again (an unchanged value fires no change)
});
for (const type of ["dragenter", "dragover"])
  document.addEventListener(type, (event) => {
    event.preventDefault();
    $("#drop").classList.add("over");
  });
document.addEventListener("dragleave", () => $("#drop").classList.remove("over"));
document.addEventListener("drop", (event) => {
  event.preventDefault();
  $("#drop").classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) return readFile(file);
  if (failed()) return;
  show({ error: "drop a picture file (PNG, JPEG, WebP, GIF or BMP), or drag the image itself, not a link or text." });
  announce();
});
// A picture pasted anywhere on the page (a screenshot, an image copied from another page), as the
// app's clipboard source takes one; pasted text is left alone.
document.addEventListener("paste", (event) => {
  const file = [...(event.clipboardData?.files || [])].find((item) => item.type.startsWith("image/"));
  if (!file) return;
  event.preventDefault();
  readFile(file);
});

// The pad draws at once; what is drawn while the model loads is read once it is in.
lenetPad(
  $(".lenet-pad"),
  async (canvas) => {
    if (!canvas) {
      latest = null;
      return show(null);
    }
    const pending = window.lenet.predict(canvas); // reads the canvas now
    latest = await pending.then(
      ({ top, input }) => ({ top, input }),
      (error) => ({ error: error.message }),
    );
    show(latest);
  },
  {
    liveMs: 60, // answers while the pen moves, dimmed until it rests
    // window.lenet.predict always settles: an answer, or an error once the model cannot load. No timeout,
    // then: one would settle a drawing made while a slow connection still brings the model in (15 MB)
    // before its answer, which would then be shown but never posted, announced or kept in lenetResult.
    waitMs: Infinity,
    settled() {
      if (failed()) return;
      window.lenetResult = latest;
      announce();
      post(latest, "drawing");
    },
  },
);

const loaded = await window.lenet.ready.then(
  () => true,
  async (error) => {
    lenetFailed(...(await loadFailure(error))); // boot.js
    return false;
  },
);
if (loaded) {
  document.documentElement.dataset.lenetState = "ready";
  if (!latest) show(null);
  $("#about").textContent = `LeNet-5 (${C.MODEL.variant}, ${C.MODEL.parameters.toLocaleString("en")} parameters${
    C.MODEL.test_accuracy ? `, ${(100 * C.MODEL.test_accuracy).toFixed(2)}% on the MNIST test set` : ""
  }), running in this page with onnxruntime-web.`;
}

async function readFile(file) {
  if (!file || failed()) return;
  const asked = ++fileRead;
  $("#status").textContent = `Reading ${file.name || "the picture"}…`;
  let result;
  try {
    result = await answer(file);
  } catch (error) {
    result = { error: `the picture could not be read (${error.message})` };
  }
  if (asked !== fileRead) return;
  show(result.error ? result : { top: result.top, input: result.input }, photoNote(result, file.name));
  announce();
  post(result, "file");
}
