// The drawing pad: one digit, drawn with a mouse, pen or finger on a square canvas that fills its box.
// Used as it is by the Gradio app (lenet/serving/pad.py) and by the browser edition (web/page.js).
//
// lenetPad(root, read, options): `root` holds a <canvas>, a .lenet-clear button and a .lenet-hint; the canvas
// is `side` pixels square, or `width` x `height` (a pad for a whole number is wide). After
// each stroke (and after Clear) `read(canvas)` is called with the canvas, the ink in its alpha (null once
// cleared), and returns a promise settled once that drawing's answer is on the page; it must take the
// pixels at once, before it awaits anything. One read runs at a time; a drawing changed meanwhile is
// read again after it. With `liveMs`, the drawing is also read every liveMs while the pen moves.
// Answers show as soon as they come, but as provisional (the page's <html> carries
// data-lenet-pad="provisional", and the page dims its answer) until the answer to the drawing as it
// is now is in and the pen has rested for `pauseMs`; then `settled()` is called. The first stroke of a
// 4 reads as a 1 or a 6, and that is not shown as the answer while the second stroke is on its way.
function lenetPad(
  root,
  read,
  {
    side = 400,
    width = side,
    height = side,
    brush = 22,
    ink = "#2563eb",
    pauseMs = 500,
    waitMs = 15000,
    liveMs = 0,
    settled = () => {},
  } = {},
) {
  const canvas = root.querySelector("canvas");
  canvas.width = width; // the drawing's pixels; CSS scales the canvas to fill its box
  canvas.height = height;
  root.style.setProperty("--lenet-aspect", String(width / height)); // the box takes the canvas's shape
  const context = canvas.getContext("2d", { willReadFrequently: liveMs > 0 }); // read back often when live
  let pen = null; // the stroke being drawn: {id: pointerId, at: [x, y] in canvas pixels}
  let version = 0; // +1 at each stroke's end, each Clear and each live read
  let answered = 0; // the version whose answer is on the page
  let reading = false;
  let blank = true;
  let resting = true; // no stroke has ended within pauseMs
  let restTimer = null;
  let liveAt = 0; // when the last read during a stroke began

  function showState() {
    const state = pen || !resting || answered !== version ? "provisional" : "answered";
    const settling = state === "answered" && root.dataset.state !== "answered";
    root.dataset.state = state;
    root.dataset.blank = String(blank);
    root.dataset.version = String(version); // the drawing as it is now ...
    root.dataset.answered = String(answered); // ... and the one whose answer is on the page (for timing)
    document.documentElement.dataset.lenetPad = state;
    if (settling) settled();
  }

  async function readLatest() {
    if (reading || (pen && !liveMs)) return; // called again when the read or the stroke ends
    if (answered === version) return showState();
    reading = true;
    const asked = version;
    // A lost answer must not stop the pad (waitMs: Infinity where a read always settles).
    const timeout = Number.isFinite(waitMs) ? [new Promise((resolve) => setTimeout(resolve, waitMs))] : [];
    try {
      await Promise.race([read(blank ? null : canvas), ...timeout]);
    } finally {
      reading = false;
      answered = asked;
      showState();
      readLatest();
    }
  }

  // A point of a pointer event in canvas pixels (the canvas is shown at any size).
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [((event.clientX - box.left) * width) / box.width, ((event.clientY - box.top) * height) / box.height];
  }

  function line(from, to) {
    context.lineWidth = brush;
    context.lineCap = context.lineJoin = "round";
    context.strokeStyle = ink;
    context.beginPath();
    context.moveTo(...from);
    context.lineTo(...to); // from === to: a round dot
    context.stroke();
  }

  function begin(event) {
    pen = { id: event.pointerId, at: point(event) };
    try {
      canvas.setPointerCapture(event.pointerId); // the stroke goes on when the pointer leaves the pad
    } catch {} // the pointer is already gone
    line(pen.at, pen.at);
    blank = false;
    showState();
    event.preventDefault();
  }

  function changed() {
    version += 1;
    showState();
    resting = false;
    clearTimeout(restTimer);
    restTimer = setTimeout(() => {
      resting = true;
      showState();
    }, pauseMs);
    readLatest();
  }

  function end(event) {
    if (!pen || event.pointerId !== pen.id) return;
    pen = null;
    changed();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (!pen && event.button === 0) begin(event);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!pen) {
      // A mouse stroke begun outside the pad draws from where it comes in.
      if (event.pointerType === "mouse" && event.buttons & 1) begin(event);
      return;
    }
    if (event.pointerId !== pen.id) return;
    for (const step of event.getCoalescedEvents?.() ?? [event]) {
      const to = point(step);
      line(pen.at, to);
      pen.at = to;
    }
    if (liveMs && event.timeStamp - liveAt >= liveMs) {
      liveAt = event.timeStamp;
      version += 1;
      readLatest();
    }
  });
  for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) canvas.addEventListener(type, end);
  root.querySelector(".lenet-clear").addEventListener("click", () => {
    context.clearRect(0, 0, width, height);
    blank = true;
    changed();
  });
  showState();
}
