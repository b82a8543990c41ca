// window.lenet: the recognizer in the page. The model and the pipeline's fixed-shape tail run as one ONNX
// graph (lenet/export.py) in onnxruntime-web's single-threaded wasm; the steps before it are preprocess.js.
//
//   await lenet.ready;                       // resolves once the model is loaded
//   const {top, input} = await lenet.predict(source);
//   // source: HTMLCanvasElement, ImageData, ImageBitmap, HTMLImageElement, Blob/File or an image URL
//   // top: [{label: "7", probability: 0.98}, ...] (3, most likely first); input: the 28x28 ImageData the
//   // model saw. Rejects with an Error saying why: no digit, not an image, too large.

import * as ort from "./ort/ort.wasm.min.mjs";
import C from "./contract.js";
import { fittedDigit, ImageError, NoDigitError } from "./preprocess.js";

ort.env.wasm.wasmPaths = new URL("./ort/", import.meta.url).href; // the runtime's files, from this site only
ort.env.wasm.numThreads = 1; // one thread is plenty for LeNet-5 and needs no cross-origin isolation

const session = ort.InferenceSession.create(new URL(C.MODEL_FILE, import.meta.url).href, {
  executionProviders: ["wasm"],
});
let queue = Promise.resolve(); // one run at a time on the session

// The RGBA pixels of `source`, at most WORK_SIDE a side (decode.py's _bounded: larger pictures are
// reduced, smoothing on, keeping their proportions).
async function pixelsOf(source) {
  if (source instanceof ImageData) return source.width > C.WORK_SIDE || source.height > C.WORK_SIDE ? bounded(await createImageBitmap(source)) : source;
  if (typeof HTMLCanvasElement !== "undefined" && source instanceof HTMLCanvasElement) {
    if (source.width > C.WORK_SIDE || source.height > C.WORK_SIDE) return bounded(source);
    return source.getContext("2d").getImageData(0, 0, source.width, source.height);
  }
  if (typeof HTMLImageElement !== "undefined" && source instanceof HTMLImageElement) {
    try {
      await source.decode(); // an image still loading would draw nothing
    } catch {
      throw new ImageError("the image could not be loaded or decoded");
    }
    return bounded(source);
  }
  if (source instanceof ImageBitmap) return bounded(source);
  if (typeof source === "string" || source instanceof URL) {
    let response;
    try {
      response = await fetch(source);
    } catch {
      throw new ImageError("the image could not be loaded");
    }
    if (!response.ok) throw new ImageError(`the image could not be loaded (HTTP ${response.status})`);
    source = await response.blob();
  }
  if (source instanceof Blob) {
    if (source.size === 0) throw new ImageError("the file is empty (0 bytes)");
    if (source.size > C.MAX_FILE_BYTES) throw new ImageError(`the file is larger than ${C.MAX_FILE_BYTES >> 20} MB`);
    let bitmap;
    try {
      // EXIF orientation applied, as decode.py does; colours as stored, as Pillow reads them.
      bitmap = await createImageBitmap(source, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    } catch {
      throw new ImageError("not an image this browser can read (PNG, JPEG, WebP, GIF, BMP), or a damaged one");
    }
    if (bitmap.width * bitmap.height > C.MAX_PIXELS) throw new ImageError(`${bitmap.width}x${bitmap.height} pixels is too large`);
    return bounded(bitmap);
  }
  throw new TypeError("lenet.predict takes a canvas, ImageData, ImageBitmap, image element, Blob or image URL");
}

function bounded(drawable) {
  const width = drawable.naturalWidth || drawable.width;
  const height = drawable.naturalHeight || drawable.height;
  if (!width || !height) throw new ImageError("the image has no pixels");
  const scale = Math.min(1, C.WORK_SIDE / Math.max(width, height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.imageSmoothingQuality = "high"; // every source pixel counts, as Pillow's box filter
  context.drawImage(drawable, 0, 0, canvas.width, canvas.height);
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

// The graph's `levels` (28 x 28 grey levels, white ink on black as MNIST) as ImageData.
function levelsImage(levels) {
  const image = new ImageData(C.SIZE, C.SIZE);
  levels.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
  return image;
}

async function run(digit) {
  const model = await session;
  const answer = queue.then(() => model.run({ digit: new ort.Tensor("float32", digit, [1, 1, C.SIZE, C.SIZE]) }));
  queue = answer.catch(() => {});
  return answer;
}

// Any source -> {top, input, isInk}. A canvas is read at once, so strokes drawn while the model works
// belong to the next reading.
function predict(source) {
  let pixels = null;
  try {
    if (typeof HTMLCanvasElement !== "undefined" && source instanceof HTMLCanvasElement && source.width <= C.WORK_SIDE && source.height <= C.WORK_SIDE) {
      const context = source.getContext("2d");
      if (!context) return Promise.reject(new ImageError("a canvas with a WebGL or bitmap context cannot be read: draw on a 2d one"));
      if (!source.width || !source.height) return Promise.reject(new NoDigitError("no digit found: the canvas has no pixels"));
      pixels = context.getImageData(0, 0, source.width, source.height);
    }
  } catch (error) {
    return Promise.reject(new ImageError(`the canvas cannot be read (${error.name})`)); // a tainted canvas
  }
  return (async () => {
    const { digit, isInk } = fittedDigit(pixels || (await pixelsOf(source)));
    const output = await run(digit);
    const probabilities = Array.from(output.probabilities.data);
    const top = probabilities
      .map((probability, index) => ({ label: C.LABELS[index], probability }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, 3);
    return { top, input: levelsImage(output.levels.data), isInk };
  })();
}

window.lenet = {
  ready: session.then(() => undefined),
  predict,
  NoDigitError,
  ImageError,
  model: C.MODEL,
};
