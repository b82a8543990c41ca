// The browser's half of lenet/pipeline: an image's pixels -> the fitted digit (28x28, top left) that the
// ONNX graph centres by mass, quantises and reads (lenet/pipeline/place.py runs inside the graph, so it is
// not repeated here). Each function names the Python function it mirrors, step for step; the constants
// come from the Python modules themselves (contract.js, written by `python -m lenet build-web`). The
// parity test (tests/test_web.py) holds the two to the same top-1 answers and to within a few grey
// levels of the same 28x28 inputs (they differ where the browser's decoding and resampling differ).
//
// Planes are {data: Float32Array, width, height}, row-major, like the (H, W) float32 arrays in Python.

import C from "./contract.js";

export class NoDigitError extends Error {} // lenet.pipeline.decode.NoDigitError
export class ImageError extends Error {} // lenet.pipeline.decode.ImageError

const plane = (width, height, data = new Float32Array(width * height)) => ({ data, width, height });

// Python's round(): halves to even, as the sizes computed in strokes.py are rounded.
function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// numpy.median / numpy.percentile (linear interpolation) of an array of numbers.
function percentile(values, q) {
  const sorted = Float64Array.from(values).sort();
  const at = (q / 100) * (sorted.length - 1);
  const low = Math.floor(at);
  return low + 1 < sorted.length ? sorted[low] + (at - low) * (sorted[low + 1] - sorted[low]) : sorted[low];
}

// ---- decode.py: the picture, telling strokes on a transparent canvas (ink) from a photo or scan ----

// decode(): RGBA pixels (already at most WORK_SIDE a side: see lenet.js) -> {ink plane, isInk}.
// A canvas whose least alpha is below OPAQUE holds strokes, and its alpha is the ink (ink_map's first case).
export function inkOf(image) {
  const { width, height, data } = image;
  let leastAlpha = 255;
  for (let i = 3; i < data.length; i += 4) leastAlpha = Math.min(leastAlpha, data[i]);
  if (leastAlpha < C.OPAQUE) {
    const ink = plane(width, height);
    for (let i = 0; i < ink.data.length; i++) ink.data[i] = data[4 * i + 3] / 255;
    return { ink, isInk: true };
  }
  return { ink: inkMap(image), isInk: false };
}

// ---- ink.py ----

// ink_map() for an opaque picture: ink in [0, 1] whatever the polarity, lighting or colour cast.
function inkMap(image) {
  const { width, height, data } = image;
  const channels = [0, 1, 2].map(() => plane(width, height));
  const gray = plane(width, height);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) channels[c].data[i] = data[4 * i + c] / 255;
    gray.data[i] = (channels[0].data[i] + channels[1].data[i] + channels[2].data[i]) / 3;
  }
  const smooth = meanFilter3(gray);
  // A page with a surround (a screen in its bezel, a sheet on a desk): its own shade tells the ink's.
  const page = photographedPage(smooth);
  const light = page ? page.lightInk : lightInk(smooth);
  if (light) for (const ch of channels) ch.data.forEach((v, i) => (ch.data[i] = 1 - v)); // light ink
  const papers = channels.map((ch) => paperBrightness(ch)); // paper -> 1 everywhere, whatever the light and cast
  const ink = plane(width, height);
  for (let i = 0; i < ink.data.length; i++) {
    let darkest = Infinity; // the darkest channel: a blue or red pen counts
    for (let c = 0; c < 3; c++) darkest = Math.min(darkest, channels[c].data[i] / papers[c].data[i]);
    ink.data[i] = Math.min(1, Math.max(0, 1 - darkest));
  }
  if (page) page.mask.forEach((inside, i) => inside || (ink.data[i] = 0)); // the surround and the page's edge
  return ink;
}

// ink._light_ink: the paper covers most of each part of the picture, so the median around a pixel is
// paper; the ink is the farther extreme from it.
function lightInk(smooth) {
  const paper = nearbyPaper(smooth).data;
  let low = Infinity;
  let high = -Infinity;
  smooth.data.forEach((v, i) => {
    low = Math.min(low, v - paper[i]);
    high = Math.max(high, v - paper[i]);
  });
  return high > -low;
}

// ink.photographed_page: a page with a surround of another shade, on a copy at most BACKGROUND_SIDE a side
// split at Otsu's level: a light page first, then a dark one, the largest 4-connected regions of each shade
// first, each with all it encloses. {mask: 0/1 over the picture, the page less its edge, lightInk} or null.
function photographedPage(gray) {
  const small = areaCopy(gray, C.BACKGROUND_SIDE);
  const { width: w, height: h } = small;
  const level = otsuLevel(small.data);
  const bright = Uint8Array.from(small.data, (v) => (v >= level ? 1 : 0));
  const ones = new Float64Array(w * h).fill(1);
  for (const darkPage of [false, true]) {
    const shade = darkPage ? bright.map((v) => 1 - v) : bright;
    const { labels, boxes, weight: areas } = components(shade, w, h, ones, 4);
    const order = areas.map((_, i) => i).sort((a, b) => areas[b] - areas[a] || a - b);
    for (const i of order) {
      if (areas[i] < C.PAGE_AREA * w * h) break;
      const [top, left, bottom, right] = boxes[i];
      if (top === 0 || left === 0 || bottom === h - 1 || right === w - 1) continue; // paper running off the picture
      const [bw, bh] = [right - left + 3, bottom - top + 3]; // the box and a pixel all round
      const region = new Uint8Array(bw * bh);
      const other = new Uint8Array(bw * bh).fill(1);
      for (let y = top; y <= bottom; y++)
        for (let x = left; x <= right; x++) {
          const at = (y - top + 1) * bw + x - left + 1;
          region[at] = labels[y * w + x] === i + 1 ? 1 : 0;
          other[at] = shade[y * w + x] ? 0 : 1;
        }
      const outside = reached(region, bw, bh);
      const filled = outside.map((v) => 1 - v); // the region and all it encloses
      const ink = filled.map((v, at) => v & other[at]);
      if (!isPage(filled, region, ink, bw, bh)) continue;
      const eroded = filled.map((v, at) => {
        const [y, x] = [Math.floor(at / bw), at % bw];
        return v && y > 0 && y < bh - 1 && x > 0 && x < bw - 1 && filled[at - 1] && filled[at + 1] && filled[at - bw] && filled[at + bw] ? 1 : 0;
      });
      // Each pixel of the picture takes the copy's pixel it lies in (floor(y * h / H)).
      const mask = new Uint8Array(gray.width * gray.height);
      for (let y = 0; y < gray.height; y++) {
        const sy = Math.floor((y * h) / gray.height);
        if (sy < top || sy > bottom) continue;
        for (let x = 0; x < gray.width; x++) {
          const sx = Math.floor((x * w) / gray.width);
          if (sx >= left && sx <= right) mask[y * gray.width + x] = eroded[(sy - top + 1) * bw + sx - left + 1];
        }
      }
      return { mask, lightInk: darkPage }; // a dark page holds light ink
    }
  }
  return null;
}

// The cells of a w x h grid that its border reaches through cells not in `set`, 4-connected (the paper
// outside a region: binary_fill_holes' complement), as a 0/1 Uint8Array.
function reached(set, w, h) {
  const outside = new Uint8Array(w * h);
  const queue = [];
  for (let y = 0; y < h; y++) for (const x of y === 0 || y === h - 1 ? [...Array(w).keys()] : [0, w - 1]) if (!set[y * w + x]) (outside[y * w + x] = 1), queue.push(y * w + x);
  while (queue.length) {
    const at = queue.pop();
    const [y, x] = [Math.floor(at / w), at % w];
    for (const [yy, xx] of [[y - 1, x], [y + 1, x], [y, x - 1], [y, x + 1]]) {
      const next = yy * w + xx;
      if (yy >= 0 && yy < h && xx >= 0 && xx < w && !outside[next] && !set[next]) (outside[next] = 1), queue.push(next);
    }
  }
  return outside;
}

// ink._is_page: whether a region of one shade (`paper`), with all it encloses (`filled`), is a page holding
// the `ink` of the other shade: ink spanning PAGE_SPAN of its rows or columns and covering at most PAGE_INK of
// it, the page four-sided (PAGE_SQUARE of its least rectangle), its paper more than PAGE_THINNER times as deep
// as the ink's heaviest stroke.
function isPage(filled, paper, ink, w, h) {
  let [area, inked] = [0, 0];
  const [rows, cols, inkRows, inkCols] = [new Uint8Array(h), new Uint8Array(w), new Uint8Array(h), new Uint8Array(w)];
  for (let at = 0; at < w * h; at++) {
    const [y, x] = [Math.floor(at / w), at % w];
    if (filled[at]) (area++, (rows[y] = 1), (cols[x] = 1));
    if (ink[at]) (inked++, (inkRows[y] = 1), (inkCols[x] = 1));
  }
  if (!inked || inked > C.PAGE_INK * area) return false;
  const count = (set) => set.reduce((sum, v) => sum + v, 0);
  const span = (set) => set.lastIndexOf(1) - set.indexOf(1) + 1; // ink._extent
  if (Math.max(span(inkRows) / count(rows), span(inkCols) / count(cols)) < C.PAGE_SPAN) return false;
  if (area < C.PAGE_SQUARE * leastRectangle(filled, w, h)) return false;
  const strokes = components(ink, w, h, new Float64Array(w * h).fill(1));
  const heaviest = strokes.weight.indexOf(Math.max(...strokes.weight)) + 1;
  return depth(paper, w, h) > C.PAGE_THINNER * depth(strokes.labels.map((label) => (label === heaviest ? 1 : 0)), w, h);
}

// ink._least_rectangle: the area of the smallest rectangle, at any angle, around the cells (unit squares) of
// `set`: one side along an edge of their convex hull (rotating calipers).
function leastRectangle(set, w, h) {
  const corners = new Map();
  for (let y = 0; y < h; y++) {
    let [first, last] = [-1, -1];
    for (let x = 0; x < w; x++) if (set[y * w + x]) (first < 0 && (first = x), (last = x));
    if (first < 0) continue;
    for (const x of [first, last + 1]) for (const yy of [y, y + 1]) corners.set(`${x},${yy}`, [x, yy]);
  }
  const points = [...corners.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const turn = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (ordered) => {
    const chain = [];
    for (const point of ordered) {
      while (chain.length >= 2 && turn(chain[chain.length - 2], chain[chain.length - 1], point) <= 0) chain.pop();
      chain.push(point);
    }
    return chain.slice(0, -1);
  };
  const hull = [...half(points), ...half([...points].reverse())];
  let best = Infinity;
  hull.forEach(([x0, y0], k) => {
    const [x1, y1] = hull[(k + 1) % hull.length];
    const length = Math.hypot(x1 - x0, y1 - y0);
    const along = hull.map(([x, y]) => ((x - x0) * (x1 - x0) + (y - y0) * (y1 - y0)) / length);
    const across = hull.map(([x, y]) => ((x - x0) * (y1 - y0) - (y - y0) * (x1 - x0)) / length);
    best = Math.min(best, (Math.max(...along) - Math.min(...along)) * (Math.max(...across) - Math.min(...across)));
  });
  return best;
}

// ink._depth: the most steps (diagonals too) from a cell of `set` to a cell outside it (a chessboard distance
// transform in two passes; the grid's border cells are outside in every use here).
function depth(set, w, h) {
  const steps = new Float64Array(w * h);
  const at = (y, x) => (y >= 0 && y < h && x >= 0 && x < w ? steps[y * w + x] : Infinity);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) if (set[y * w + x]) steps[y * w + x] = 1 + Math.min(at(y, x - 1), at(y - 1, x - 1), at(y - 1, x), at(y - 1, x + 1));
  let most = 0;
  for (let y = h - 1; y >= 0; y--)
    for (let x = w - 1; x >= 0; x--)
      if (set[y * w + x]) most = Math.max(most, (steps[y * w + x] = Math.min(steps[y * w + x], 1 + Math.min(at(y, x + 1), at(y + 1, x + 1), at(y + 1, x), at(y + 1, x - 1)))));
  return most;
}

// ink.otsu_level: where the bright class begins, by Otsu's threshold on 256 bins of values in [0, 1].
function otsuLevel(values) {
  const counts = new Float64Array(256);
  for (const v of values) counts[Math.min(255, Math.max(0, Math.floor(v * 256)))]++;
  let [total, totalSum] = [0, 0];
  counts.forEach((n, k) => ((total += n), (totalSum += n * k)));
  let [dark, sums, best, level] = [0, 0, -1, 0];
  counts.forEach((n, k) => {
    dark += n;
    sums += n * k;
    const light = total - dark;
    const spread = dark * light * (sums / dark - (totalSum - sums) / light) ** 2; // NaN with a class empty
    if (spread > best) (best = spread), (level = k);
  });
  return (level + 1) / 256;
}

// _nearby_paper(): the paper's grey level around each pixel, the median of POLARITY_WINDOW-wide windows
// (edges repeated, as scipy's mode="nearest") on a copy at most POLARITY_SIDE a side, enlarged again.
function nearbyPaper(gray) {
  const small = areaCopy(gray, C.POLARITY_SIDE);
  const radius = Math.floor(C.POLARITY_WINDOW / 2);
  const medians = plane(small.width, small.height);
  const window = new Float32Array(C.POLARITY_WINDOW * C.POLARITY_WINDOW);
  for (let y = 0; y < small.height; y++)
    for (let x = 0; x < small.width; x++) {
      let n = 0;
      for (let dy = -radius; dy <= radius; dy++)
        for (let dx = -radius; dx <= radius; dx++) {
          const yy = Math.min(small.height - 1, Math.max(0, y + dy));
          const xx = Math.min(small.width - 1, Math.max(0, x + dx));
          window[n++] = small.data[yy * small.width + xx];
        }
      medians.data[y * small.width + x] = window.sort()[(window.length - 1) / 2]; // an odd count: the middle one
    }
  return resizeLinear(medians, gray.width, gray.height);
}

// _area_copy(): a plane reduced by area averaging to at most `side` a side, the aspect kept.
function areaCopy(source, side) {
  const scale = Math.min(1, side / Math.max(source.width, source.height));
  const width = Math.max(1, roundHalfEven(source.width * scale));
  return resizeArea(source, width, Math.max(1, roundHalfEven(source.height * scale)));
}

// _mean_filter3(): the mean of each 3x3 window, windows cut at the edges.
function meanFilter3({ data, width, height }) {
  const out = plane(width, height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let count = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy >= 0 && yy < height && xx >= 0 && xx < width) (sum += data[yy * width + xx]), count++;
        }
      out.data[y * width + x] = sum / count;
    }
  return out;
}

// _paper_brightness() of one channel: a closing (max then min filter) on a copy at most
// BACKGROUND_SIDE a side removes the strokes and keeps the light's slow changes and a shadow's edge.
function paperBrightness(channel) {
  const small = areaCopy(channel, C.BACKGROUND_SIDE);
  const closed = extremeFilter(extremeFilter(small, C.BACKGROUND_KERNEL, Math.max), C.BACKGROUND_KERNEL, Math.min);
  const soft = plane(closed.width, closed.height); // a 3x3 mean with replicated edges
  for (let y = 0; y < closed.height; y++)
    for (let x = 0; x < closed.width; x++) {
      let sum = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = Math.min(closed.height - 1, Math.max(0, y + dy));
          const xx = Math.min(closed.width - 1, Math.max(0, x + dx));
          sum += closed.data[yy * closed.width + xx];
        }
      soft.data[y * closed.width + x] = Math.max(sum / 9, 0.02); // kept off 0 before enlarging, as Python
    }
  return resizeLinear(soft, channel.width, channel.height);
}

// max_filter() / _min_filter(): a sliding max or min over size x size windows cut at the edges.
function extremeFilter(source, size, pick) {
  const radius = Math.floor(size / 2);
  let { data } = source;
  const { width, height } = source;
  for (const [step, length, lines, stride] of [
    [1, width, height, width],
    [width, height, width, 1],
  ]) {
    const out = new Float32Array(data.length);
    for (let line = 0; line < lines; line++)
      for (let i = 0; i < length; i++) {
        let best = data[line * stride + i * step];
        for (let j = Math.max(0, i - radius); j <= Math.min(length - 1, i + radius); j++)
          best = pick(best, data[line * stride + j * step]);
        out[line * stride + i * step] = best;
      }
    data = out;
  }
  return plane(width, height, data);
}

// ink_threshold(): the level between strokes and paper, and the level of the strokes' cores. `drawn`:
// a drawing's alpha; where some of it is fully transparent, its paper is exactly 0 however much is inked.
function inkThreshold(ink, drawn) {
  const sample = [];
  for (let y = 0; y < ink.height; y += 2) for (let x = 0; x < ink.width; x += 2) sample.push(ink.data[y * ink.width + x]);
  const clear = drawn && ink.data.some((v) => v === 0);
  const paper = clear ? 0 : percentile(sample, 50);
  const noise = clear ? 0 : 1.4826 * percentile(
    sample.map((v) => Math.abs(v - paper)),
    50,
  );
  const floor = paper + Math.max(6 * noise, C.MIN_CONTRAST);
  const strokes = ink.data.filter((v) => v > floor);
  if (strokes.length === 0) throw new NoDigitError("no digit found: the image is blank");
  const core = percentile(strokes, 90);
  return [Math.max(floor, paper + 0.45 * (core - paper)), core];
}

// digit_ink(): the digit's ink alone (specks, far-off marks, printed lines, frames and underlines and,
// for photos, whatever touches the border and printed lines through the digit dropped), scaled so its
// strokes' cores are 1; and the level of its strokes' edge.
export function digitInk(ink, dropBorder) {
  const [threshold, core] = inkThreshold(ink, !dropBorder); // no border dropped: a drawing
  const lines = dropBorder ? printedLines(ink, threshold) : null;
  let keep = digitMask(ink, threshold, dropBorder, lines);
  const apart = dropBorder ? joinedApart(keep, ink) : null;
  if (apart) keep = digitMask(ink, threshold, dropBorder, lines.map((v, i) => v | apart[i]));
  const rims = extremeFilter(keep, 3, Math.max); // the kept strokes keep their anti-aliased rims
  const out = plane(ink.width, ink.height);
  for (let i = 0; i < out.data.length; i++) out.data[i] = Math.min(1, Math.max(0, ink.data[i] / core)) * rims.data[i];
  return [out, Math.min(threshold / core, 1)];
}

// digit_mask() with reduce_mask(): components are labelled (8-connected) on a copy at most LABEL_SIDE
// a side where a block is set if any of its pixels is; each one is weighed by its ink; the digit grows
// from the heaviest one, taking in every component near it that is no speck.
// ink.encloses: box `outer` beyond box `inner` on all four sides (a frame around it).
function encloses(outer, inner) {
  return outer[0] < inner[0] && outer[1] < inner[1] && outer[2] > inner[2] && outer[3] > inner[3];
}

// ink.printed_line: thin, and RULE_LENGTH times longer than a digit `size` pixels tall or wide.
function printedLine(box, size) {
  const [height, width] = [box[2] - box[0] + 1, box[3] - box[1] + 1];
  const [long, thin] = [Math.max(height, width), Math.min(height, width)];
  return long >= C.RULE_ASPECT * thin && long >= C.RULE_LENGTH * size;
}

// scipy.ndimage.label (8-connected, or 4-connected with `neighbours` 4) of the set cells of a w x h grid:
// labels numbered from 1 in the raster order of their first cell, each one's box [top, left, bottom, right]
// (inclusive) and the sum of `values` over its cells.
function components(set, w, h, values, neighbours = 8) {
  const labels = new Int32Array(w * h);
  const boxes = [];
  const weight = [];
  for (let start = 0; start < w * h; start++) {
    if (!set[start] || labels[start]) continue;
    const label = boxes.length + 1;
    const box = [h, w, -1, -1];
    let sum = 0;
    const queue = [start];
    labels[start] = label;
    while (queue.length) {
      const at = queue.pop();
      const y = Math.floor(at / w);
      const x = at % w;
      box[0] = Math.min(box[0], y);
      box[1] = Math.min(box[1], x);
      box[2] = Math.max(box[2], y);
      box[3] = Math.max(box[3], x);
      sum += values[at];
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          const next = yy * w + xx;
          if (neighbours === 4 && dy && dx) continue;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w && set[next] && !labels[next]) (labels[next] = label), queue.push(next);
        }
    }
    boxes.push(box);
    weight.push(sum);
  }
  return { labels, boxes, weight };
}

// ink._union: the one box [top, left, bottom, right] around `boxes`.
const union = (boxes) => [0, 1, 2, 3].map((k) => (k < 2 ? Math.min : Math.max)(...boxes.map((box) => box[k])));

// ink.frame_held: the components (indices) a frame `seed` holds, or [] if it is no frame: it encloses
// some of the `big` ones, none of its cells lie over their box (less an eighth of its height and width each
// side), and some lie on each side of that box.
function frameHeld(labels, w, boxes, seed, big) {
  const held = boxes.flatMap((box, i) => (big[i] && encloses(boxes[seed], box) ? [i] : []));
  if (!held.length) return [];
  const [top, left, bottom, right] = union(held.map((i) => boxes[i]));
  const [down, across] = [Math.floor((bottom - top + 1) / 8), Math.floor((right - left + 1) / 8)]; // its core's inset
  const sides = [false, false, false, false]; // above, below, left, right of the box of those it holds
  for (let y = 0; y < labels.length / w; y++)
    for (let x = 0; x < w; x++) {
      if (labels[y * w + x] !== seed + 1) continue;
      if (y >= top + down && y <= bottom - down && x >= left + across && x <= right - across) return [];
      if (x >= left && x <= right && (y < top || y > bottom)) sides[y < top ? 0 : 1] = true;
      if (y >= top && y <= bottom && (x < left || x > right)) sides[x < left ? 2 : 3] = true;
    }
  return sides.every(Boolean) ? held : [];
}

// ink.joined_apart: a frame around the digit or a line under it among the full-size components of the
// digit's `mask` plane (1 = digit), as a Uint8Array, or null.
function joinedApart(mask, ink) {
  const { width, height } = mask;
  const { labels, boxes, weight } = components(mask.data, width, height, ink.data);
  if (!boxes.length) return null;
  const seed = weight.indexOf(Math.max(...weight));
  const rim = joinedFrame(labels, ink, width, boxes[seed], seed + 1);
  if (rim) {
    const [top, left, bottom, right] = boxes[seed];
    const out = new Uint8Array(width * height);
    for (let y = top; y <= bottom; y++) for (let x = left; x <= right; x++) out[y * width + x] = rim[(y - top + 1) * (right - left + 3) + x - left + 1];
    return out;
  }
  if (boxes.length < 2) return null;
  const kept = weight.map((v) => v >= C.SPECK_FRACTION * weight[seed]);
  let apart = -1;
  // A frame may weigh less than its digit: each kept component, heaviest first (a stable sort, as numpy's).
  const heaviest = boxes.map((_, i) => i).filter((i) => kept[i]).sort((a, b) => weight[b] - weight[a]);
  for (const i of heaviest) {
    if (frameHeld(labels, width, boxes, i, weight.map((v, j) => kept[j] && v >= C.FRAME_HELD * weight[i])).length) {
      apart = i;
      break;
    }
  }
  for (let i = 0; i < boxes.length && apart < 0; i++) {
    if (!kept[i]) continue;
    const inColumns = (box, j) => kept[j] && j !== i && box[1] <= boxes[i][3] && box[3] >= boxes[i][1];
    const over = boxes.flatMap((box, j) => (inColumns(box, j) ? [j] : []));
    if (over.length && underlines(labels, width, height, boxes, i, over)) apart = i;
  }
  return apart < 0 ? null : labels.map((label) => (label === apart + 1 ? 1 : 0));
}

// ink.joined_frame: the rim of component `label` (its `box` in `labels`, `width` wide) when it is a frame the
// digit it holds touches, as a 0/1 Uint8Array over the box and a blank pixel all round, or null. The rim, its
// pixels within FRAME_RIM stroke widths of the paper outside, closes around ink of its own that weighs FRAME_JOINED
// of the rim's ink, spans under FRAME_SPAN of what the rim encloses each way and touches the rim along under
// FRAME_CONTACT of its inner edge.
function joinedFrame(labels, ink, width, [top, left, bottom, right], label) {
  const w = right - left + 3;
  const h = bottom - top + 3;
  const shape = plane(w, h);
  const weights = new Float64Array(w * h);
  for (let y = top; y <= bottom; y++)
    for (let x = left; x <= right; x++) {
      const at = (y - top + 1) * w + x - left + 1;
      shape.data[at] = labels[y * width + x] === label ? 1 : 0;
      weights[at] = ink.data[y * width + x];
    }
  const outside = reached(shape.data, w, h); // the paper outside: the blank the border reaches
  // The box [top, left, bottom, right] of a 0/1 array over (h, w), or null.
  const boxOf = (set) => {
    const box = [h, w, -1, -1];
    set.forEach((v, i) => v && ((box[0] = Math.min(box[0], Math.floor(i / w))), (box[1] = Math.min(box[1], i % w)), (box[2] = Math.max(box[2], Math.floor(i / w))), (box[3] = Math.max(box[3], i % w))));
    return box[2] < 0 ? null : box;
  };
  // A frame holds its digit in the middle of the paper it encloses (ink.py's _middle: a quarter in from each
  // side of its box); a digit's loops enclose paper there (a 0, 6, 9, 4): no frame.
  const paper = boxOf(Uint8Array.from(outside, (v, i) => (!v && !shape.data[i] ? 1 : 0)));
  if (!paper) return null; // nothing enclosed
  const [down, across] = [Math.floor((paper[2] - paper[0]) / 4), Math.floor((paper[3] - paper[1]) / 4)];
  let middle = false;
  for (let y = paper[0] + down; y <= paper[2] - down; y++) for (let x = paper[1] + across; x <= paper[3] - across; x++) middle ||= shape.data[y * w + x] > 0;
  if (!middle) return null;
  // ink.py's dilate(set, 1): a pixel of the 0/1 array `set` or a 4-neighbour of one.
  const grow = (set) => dilate(plane(w, h, set), 1).data;
  const grown = grow(shape.data);
  const paperEdge = plane(w, h, Float32Array.from(outside, (v, i) => (v && grown[i] ? 1 : 0)));
  const reach = dilate(paperEdge, C.FRAME_RIM * strokeWidth(shape, 0.5));
  const rim = Uint8Array.from(shape.data, (v, i) => (v && reach.data[i] ? 1 : 0));
  const held = Uint8Array.from(shape.data, (v, i) => (v && !rim[i] ? 1 : 0));
  let [heldInk, rimInk] = [0, 0];
  held.forEach((v, i) => (v ? (heldInk += weights[i]) : rim[i] ? (rimInk += weights[i]) : 0));
  if (!held.some(Boolean) || heldInk < C.FRAME_JOINED * rimInk) return null;
  const inside = Uint8Array.from(outside, (v, i) => (!v && !rim[i] ? 1 : 0)); // what the rim encloses
  // From side to side (a slashed 0, a 0 with a bar): no digit held in a frame. Extents: ink.py's _extent.
  const extents = (set) => {
    const box = boxOf(set);
    return [box[2] - box[0] + 1, box[3] - box[1] + 1];
  };
  const [heldExtent, insideExtent] = [extents(held), extents(inside)];
  if (heldExtent.some((extent, axis) => extent >= C.FRAME_SPAN * insideExtent[axis])) return null;
  const nearInside = grow(inside);
  const nearHeld = grow(held);
  let [innerEdge, contact] = [0, 0];
  rim.forEach((v, i) => v && nearInside[i] && (innerEdge++, nearHeld[i] && contact++));
  return contact < C.FRAME_CONTACT * innerEdge ? rim : null;
}

// ink._underlines: whether component `line` (an index) is a line under the components `over`, those in its
// columns: UNDERLINE_ASPECT times wider than tall, as wide as the widest of them, and wholly below them, or
// below them column by column and thin (no column over twice its median thickness + 2).
function underlines(labels, width, height, boxes, line, over) {
  const box = boxes[line];
  const wide = box[3] - box[1];
  const widest = Math.max(...over.map((j) => boxes[j][3] - boxes[j][1]));
  if (wide < widest || wide + 1 < C.UNDERLINE_ASPECT * (box[2] - box[0] + 1)) return false;
  if (box[0] > Math.max(...over.map((j) => boxes[j][2]))) return true; // wholly below them
  const isOver = new Uint8Array(boxes.length + 1);
  for (const j of over) isOver[j + 1] = 1;
  const thickness = [];
  for (let x = 0; x < width; x++) {
    let [top, bottom, above] = [height, -1, -1]; // its highest and lowest pixel in the column, the lowest of theirs
    for (let y = 0; y < height; y++) {
      const label = labels[y * width + x];
      if (label === line + 1) [top, bottom] = [Math.min(top, y), y];
      else if (isOver[label]) above = y;
    }
    if (top <= above) return false;
    if (bottom >= 0) thickness.push(bottom - top + 1);
  }
  return Math.max(...thickness) <= 2 * percentile(thickness, 50) + 2;
}

// ink.underline: a component under the digit's `box`, as wide as it and UNDERLINE_ASPECT times wider than tall.
function underline(line, box) {
  const wide = line[3] - line[1];
  return line[0] > box[2] && wide >= box[3] - box[1] && wide + 1 >= C.UNDERLINE_ASPECT * (line[2] - line[0] + 1);
}

const labelFactor = (width, height) => Math.max(1, Math.ceil(Math.max(width, height) / C.LABEL_SIDE));

// `removed`: pixels left out (printedLines), or null.
function digitMask(ink, threshold, dropBorder, removed) {
  const { width, height } = ink;
  const inked = (i) => ink.data[i] > threshold && !(removed && removed[i]);
  const factor = labelFactor(width, height);
  const w = Math.ceil(width / factor);
  const h = Math.ceil(height / factor);
  const set = new Uint8Array(w * h);
  const blockInk = new Float64Array(w * h);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const v = ink.data[y * width + x];
      if (inked(y * width + x)) {
        const block = Math.floor(y / factor) * w + Math.floor(x / factor);
        set[block] = 1;
        blockInk[block] += v;
      }
    }
  const { labels, boxes, weight } = components(set, w, h, blockInk);
  if (boxes.length === 0) throw new NoDigitError("no digit found: the image is blank");
  // Boxes in full-size pixels, to within factor - 1.
  const full = boxes.map(([t, l, b, r]) => [t * factor, l * factor, Math.min((b + 1) * factor, height) - 1, Math.min((r + 1) * factor, width) - 1]);
  if (dropBorder) {
    const onBorder = new Set();
    const mark = (y, x) => inked(y * width + x) && onBorder.add(labels[Math.floor(y / factor) * w + Math.floor(x / factor)]);
    for (let x = 0; x < width; x++) mark(0, x), mark(height - 1, x);
    for (let y = 0; y < height; y++) mark(y, 0), mark(y, width - 1);
    const heaviest = Math.max(...weight);
    const innerHeaviest = Math.max(0, ...weight.filter((_, i) => !onBorder.has(i + 1)));
    // Keep border-touching ink only when nothing substantial lies inside (a tightly cropped digit).
    if (innerHeaviest >= 0.1 * heaviest) onBorder.forEach((label) => (weight[label - 1] = 0));
  }
  const heaviest = Math.max(...weight);
  const keep = weight.map((v) => v >= C.SPECK_FRACTION * heaviest);
  let first = weight.indexOf(heaviest);
  // A circle or a form's box around the digit: the digit is what it holds.
  const held = frameHeld(labels, w, boxes, first, weight.map((v, i) => keep[i] && v >= C.FRAME_HELD * heaviest));
  if (held.length) first = held.reduce((best, i) => (weight[i] > weight[best] ? i : best));
  const taken = weight.map(() => false);
  taken[first] = true;
  let box = [...full[first]];
  const size = Math.max(box[2] - box[0], box[3] - box[1]) + 1;
  // No printed line, frame or underline.
  full.forEach((other, i) => (keep[i] = keep[i] && !encloses(other, box) && !printedLine(other, size) && !underline(other, box)));
  for (let changed = true; changed; ) {
    changed = false;
    const reach = C.NEAR * Math.max(box[2] - box[0], box[3] - box[1]);
    for (let i = 0; i < weight.length; i++) {
      if (!keep[i] || taken[i]) continue;
      const [top, left, bottom, right] = full[i];
      if (top <= box[2] + reach && bottom >= box[0] - reach && left <= box[3] + reach && right >= box[1] - reach) {
        taken[i] = true;
        box = [Math.min(box[0], top), Math.min(box[1], left), Math.max(box[2], bottom), Math.max(box[3], right)];
        changed = true;
      }
    }
  }
  const mask = plane(width, height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const label = labels[Math.floor(y / factor) * w + Math.floor(x / factor)];
      mask.data[y * width + x] = label && taken[label - 1] && inked(y * width + x) ? 1 : 0;
    }
  return mask;
}

// ink.reduce_mask: a {data: Uint8Array, width, height} grid of factor x factor blocks, set where any pixel is.
function reduceMask(mask, width, height, factor) {
  const grid = { data: new Uint8Array(Math.ceil(width / factor) * Math.ceil(height / factor)), width: Math.ceil(width / factor), height: Math.ceil(height / factor) };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if (mask[y * width + x]) grid.data[Math.floor(y / factor) * grid.width + Math.floor(x / factor)] = 1;
  return grid;
}

function transpose(grid) {
  const out = { data: new Uint8Array(grid.data.length), width: grid.height, height: grid.width };
  for (let y = 0; y < grid.height; y++) for (let x = 0; x < grid.width; x++) out.data[x * out.width + y] = grid.data[y * grid.width + x];
  return out;
}

// ink._level_lines: the bands (3 rows high, across the grid) of lines within LINE_TILT of level whose set
// cells cover `length` of the grid's columns (`length` / width of those inside the grid, for a line that
// leaves it through its top or bottom), counted after shearing it by each slope LINE_STEP apart.
// Each sheared row's count comes from the band's set cells alone: the cell (y, x) lies on sheared row
// y + pad - offset[x] of a slope.
function levelLines(grid, length) {
  const { data, width, height } = grid;
  const cells = []; // the band's set cells, as y * width + x
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (data[i] || (y > 0 && data[i - width]) || (y < height - 1 && data[i + width])) cells.push(i);
    }
  const pad = Math.ceil((C.LINE_TILT * width) / 2) + 1; // more than any slope's rise: sheared rows stay inside
  const rows = height + 2 * pad;
  const found = new Uint8Array(rows * width);
  const steps = Math.round(C.LINE_TILT / C.LINE_STEP);
  const counts = new Int32Array(rows);
  const edges = new Int32Array(rows + 1);
  for (let step = -steps; step <= steps; step++) {
    const offset = Array.from({ length: width }, (_, x) => Math.floor((step * (2 * x - (width - 1)) * C.LINE_STEP) / 2 + 0.5));
    counts.fill(0);
    for (const i of cells) counts[Math.floor(i / width) + pad - offset[i % width]]++;
    // How many of a sheared row's columns lie inside the grid: a line of a page askew may leave it
    // through the top or bottom, and needs to cover LINE_SPAN of what is seen of it, if that is half
    // the grid's width or more.
    edges.fill(0);
    for (let x = 0; x < width; x++) {
      edges[pad - offset[x]]++;
      edges[pad - offset[x] + height]--;
    }
    let seen = 0;
    for (let r = 0; r < rows; r++) {
      seen += edges[r];
      if (counts[r] >= (length * seen) / width && 2 * seen >= width)
        for (let x = 0; x < width; x++) found[Math.min(Math.max(r + offset[x], 0), rows - 1) * width + x] = 1;
    }
  }
  return { data: found.slice(pad * width, (pad + height) * width), width, height };
}

// ink.printed_lines: the pixels (Uint8Array) of printed lines through or beside the digit, to leave out.
function printedLines(ink, threshold) {
  const { width, height } = ink;
  const nothing = new Uint8Array(width * height);
  const mask = ink.data.map((v) => (v > threshold ? 1 : 0));
  const [tall, wide] = [height * C.LINE_SPAN, width * C.LINE_SPAN]; // the least length of a line, each way
  const lines = (grid, factor) => {
    const across = levelLines(grid, wide / factor);
    const down = transpose(levelLines(transpose(grid), tall / factor));
    return { data: across.data.map((v, i) => v | down.data[i]), width: grid.width, height: grid.height, across, down };
  };
  const glance = Math.max(1, Math.ceil(Math.max(width, height) / C.LINE_GLANCE)); // a first look
  if (!lines(reduceMask(mask, width, height, glance), glance).data.some((v) => v)) return nothing;
  const fine = Math.max(1, Math.ceil(Math.max(width, height) / C.LINE_SIDE));
  const found = lines(reduceMask(mask, width, height, fine), fine);
  const inside = (y, x) => y >= 0 && y < height && x >= 0 && x < width;
  const onLine = (y, x) => inside(y, x) && found.data[Math.floor(y / fine) * found.width + Math.floor(x / fine)] && mask[y * width + x];
  // ink._crossed: a stretch of line pixels down a column or along a row, at most LINE_BAND * fine
  // long, with the rest of the ink at both ends, is where a stroke crosses a line: it stays.
  const end = (y, x, dy, dx) => {
    let k = 1;
    while (onLine(y + k * dy, x + k * dx)) k++;
    return [k, inside(y + k * dy, x + k * dx) && mask[(y + k * dy) * width + x + k * dx] === 1];
  };
  const crossed = (y, x, dy, dx) => {
    const [[before, inkBefore], [after, inkAfter]] = [end(y, x, -dy, -dx), end(y, x, dy, dx)];
    return inkBefore && inkAfter && before + after - 1 <= C.LINE_BAND * fine;
  };
  const removed = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) removed[y * width + x] = onLine(y, x) && !crossed(y, x, 1, 0) && !crossed(y, x, 0, 1) ? 1 : 0;
  const { labels, boxes } = components(found.data, found.width, found.height, found.data); // the lines
  let digit;
  try {
    digit = digitMask(ink, threshold, true, removed);
  } catch (error) {
    if (!(error instanceof NoDigitError)) throw error;
    // Nothing but lines: a page of ruling or a grid (two parallel lines or more), or a line or two that are the digit.
    const count = (band) => components(band.data, band.width, band.height, band.data).boxes.length;
    if (Math.max(count(found.across), count(found.down)) > 1) throw new NoDigitError("no digit found: only printed lines (ruled or squared paper)");
    return nothing;
  }
  const [top, left, bottom, right] = extent(digit, 0);
  const past = ((C.RULE_LENGTH - 1) / 2) * (bottom - top); // by the digit's height, as in Python
  // Each line (8-connected cells of `found`) passing the digit at both ends, level or plumb, is printed.
  const printed = boxes.map(([first, firstCol, last, lastCol]) => {
    const across = firstCol * fine <= left - past && (lastCol + 1) * fine - 1 >= right + past;
    const down = first * fine <= top - past && (last + 1) * fine - 1 >= bottom + past;
    return across || down;
  });
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const label = labels[Math.floor(y / fine) * found.width + Math.floor(x / fine)];
      removed[y * width + x] &&= label && printed[label - 1] ? 1 : 0;
    }
  return removed;
}

// ---- strokes.py ----

function crop(source, top, left, bottom, right) {
  const out = plane(right - left, bottom - top);
  for (let y = top; y < bottom; y++) out.data.set(source.data.subarray(y * source.width + left, y * source.width + right), (y - top) * out.width);
  return out;
}

// The rows and columns where `source` exceeds `level`: [top, left, bottom, right], inclusive, or null.
function extent(source, level) {
  let [top, left, bottom, right] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < source.height; y++)
    for (let x = 0; x < source.width; x++)
      if (source.data[y * source.width + x] > level) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
  return bottom < 0 ? null : [top, left, bottom, right];
}

// stroke_width(): the mean stroke width of the mask (source > level): area / length, the length from
// the count of pixel edges the strokes cross (8L/pi for a curve of length L).
function strokeWidth(source, level) {
  const { width, height, data } = source;
  let area = 0;
  let edges = 0;
  const at = (y, x) => y >= 0 && y < height && x >= 0 && x < width && data[y * width + x] > level;
  for (let y = 0; y <= height; y++)
    for (let x = 0; x <= width; x++) {
      const here = at(y, x);
      if (here) area++;
      if (x < width && here !== at(y - 1, x)) edges++;
      if (y < height && here !== at(y, x - 1)) edges++;
    }
  return edges ? (8 * area) / (Math.PI * edges) : 0;
}

// normalize_strokes(): the digit's ink -> its fitted shape, longer side BOX, strokes MNIST-wide.
export function normalizeStrokes(ink, edge) {
  const box = extent(ink, edge);
  if (!box) throw new NoDigitError("no digit found: the image is blank");
  const [top, left, bottom, right] = box;
  // With the rims; numpy's slice stops at the edge.
  const cropped = crop(ink, Math.max(top - 1, 0), Math.max(left - 1, 0), Math.min(bottom + 2, ink.height), Math.min(right + 2, ink.width));
  const scale = C.BOX / (Math.max(bottom - top, right - left) + 1);
  const width = strokeWidth(cropped, edge) * scale;
  // strokes.BLOT: a dot or a blot is no digit (blown up to 20x20 it read as a confident 0).
  if (width >= C.BLOT * C.BOX) throw new NoDigitError(C.BLOTTED);
  if (C.MIN_WIDTH <= width && width <= C.MAX_WIDTH) return fitBox(cropped, edge / 2);
  return fitBox(restroke(cropped, edge, scale * C.FINE, width * C.FINE), 0.25);
}

// _restroke(): the strokes redrawn at the fine scale to a width inside MNIST's range (a 0/1 plane).
function restroke(cropped, edge, scale, width) {
  const margin = Math.ceil(C.MAX_WIDTH * C.FINE);
  const size = [Math.max(1, roundHalfEven(cropped.width * scale)), Math.max(1, roundHalfEven(cropped.height * scale))];
  const coverage = pad(resizeLinear(cropped, ...size, true), margin);
  const bar = edge * Math.min(1, 0.9 * width);
  const fine = coverage.data.map((v) => (v > bar ? 1 : 0));
  const shape = plane(coverage.width, coverage.height, fine);
  const low = C.MIN_WIDTH * C.FINE;
  const high = C.MAX_WIDTH * C.FINE;
  if (width < low) return dilate(shape, (low - Math.max(width, 1)) / 2);
  const eroded = erode(shape, (width - high) / 2);
  const spine = dilate(thin(shape), low / 2);
  eroded.data.forEach((v, i) => (eroded.data[i] = v || spine.data[i] ? 1 : 0));
  return eroded;
}

function pad(source, margin) {
  const out = plane(source.width + 2 * margin, source.height + 2 * margin);
  for (let y = 0; y < source.height; y++) out.data.set(source.data.subarray(y * source.width, (y + 1) * source.width), (y + margin) * out.width + margin);
  return out;
}

// _disk(): the offsets within `radius` (a pixel's centre within radius + a quarter pixel squared).
function disk(radius) {
  const r = Math.max(0, Math.ceil(radius - 0.5));
  const offsets = [];
  for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) if (dy * dy + dx * dx <= radius * radius + 0.25) offsets.push([dy, dx]);
  return offsets;
}

// dilate(): grow a 0/1 plane by a disk of `radius`; outside the plane counts as empty.
function dilate(source, radius, value = 1) {
  const { width, height, data } = source;
  const out = plane(width, height);
  const offsets = disk(radius);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (data[y * width + x] !== value) continue;
      for (const [dy, dx] of offsets) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy >= 0 && yy < height && xx >= 0 && xx < width) out.data[yy * width + xx] = 1;
      }
    }
  return out;
}

// erode(): ~dilate(~mask), so outside the plane counts as ink (nothing is eaten from the edges).
function erode(source, radius) {
  const grown = dilate(source, radius, 0);
  grown.data.forEach((v, i) => (grown.data[i] = 1 - v));
  return grown;
}

// thin(): Zhang-Suen thinning to lines one pixel wide, in the same two sub-steps as Python.
function thin(source) {
  const width = source.width + 2;
  const height = source.height + 2;
  const image = pad(source, 1).data;
  // P2..P9 clockwise from north, as (dy, dx).
  const around = [[-1, 0], [-1, 1], [0, 1], [1, 1], [1, 0], [1, -1], [0, -1], [-1, -1]].map(([dy, dx]) => dy * width + dx);
  for (let changed = true; changed; ) {
    changed = false;
    for (const step of [0, 1]) {
      const remove = [];
      for (let y = 1; y < height - 1; y++)
        for (let x = 1; x < width - 1; x++) {
          const at = y * width + x;
          if (!image[at]) continue;
          const n = around.map((offset) => image[at + offset]);
          const count = n.reduce((a, b) => a + b, 0);
          let transitions = 0;
          for (let i = 0; i < 8; i++) if (!n[i] && n[(i + 1) % 8]) transitions++;
          const keepShape = step === 0 ? !(n[0] && n[2] && n[4]) && !(n[2] && n[4] && n[6]) : !(n[0] && n[2] && n[6]) && !(n[0] && n[4] && n[6]);
          if (count >= 2 && count <= 6 && transitions === 1 && keepShape) remove.push(at);
        }
      for (const at of remove) image[at] = 0;
      if (remove.length) changed = true;
    }
  }
  return crop(plane(width, height, image), 1, 1, height - 1, width - 1);
}

// _fit_box(): crop to the ink above `level`, fit the longer side to BOX (area averaging to shrink,
// bilinear to enlarge), clamped to [0, 1].
function fitBox(shape, level) {
  const [top, left, bottom, right] = extent(shape, level);
  const cropped = crop(shape, top, left, bottom + 1, right + 1);
  const shrink = C.BOX / Math.max(cropped.width, cropped.height);
  const width = Math.max(1, roundHalfEven(cropped.width * shrink));
  const height = Math.max(1, roundHalfEven(cropped.height * shrink));
  const digit = shrink < 1 ? resizeArea(cropped, width, height) : resizeLinear(cropped, width, height);
  digit.data.forEach((v, i) => (digit.data[i] = Math.min(1, Math.max(0, v))));
  return digit;
}

// ---- resampling, as torch.nn.functional.interpolate does it ----

// mode="area" (adaptive average pooling): output pixel i averages input [floor(i*in/out), ceil((i+1)*in/out)).
export function resizeArea(source, width, height) {
  const out = plane(width, height);
  const span = (i, from, to) => [Math.floor((i * from) / to), Math.ceil(((i + 1) * from) / to)];
  for (let y = 0; y < height; y++) {
    const [y0, y1] = span(y, source.height, height);
    for (let x = 0; x < width; x++) {
      const [x0, x1] = span(x, source.width, width);
      let sum = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += source.data[yy * source.width + xx];
      out.data[y * width + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

// mode="bilinear", align_corners=False; with `antialias` a shrink widens the triangle filter to the
// scale (torch's antialiased resampling, which follows Pillow's); enlarging is the same either way.
function resizeLinear(source, width, height, antialias = false) {
  const along = (from, to) => {
    const ratio = from / to;
    const support = antialias && ratio > 1 ? ratio : 1;
    return Array.from({ length: to }, (_, i) => {
      const center = ratio * (i + 0.5);
      if (support === 1) {
        // Plain bilinear: the two neighbours of the source position, clamped at the edges.
        const at = Math.max(0, center - 0.5);
        const j = Math.min(Math.floor(at), from - 1);
        const t = Math.min(at - j, 1);
        const next = Math.min(j + 1, from - 1);
        return [[j, 1 - t], [next, t]];
      }
      const first = Math.max(Math.trunc(center - support + 0.5), 0);
      const last = Math.min(Math.trunc(center + support + 0.5), from);
      const taps = [];
      let total = 0;
      for (let j = first; j < last; j++) {
        const w = Math.max(0, 1 - Math.abs((j - center + 0.5) / support));
        taps.push([j, w]);
        total += w;
      }
      return taps.map(([j, w]) => [j, total ? w / total : 0]);
    });
  };
  const rows = along(source.height, height);
  const cols = along(source.width, width);
  const across = plane(width, source.height);
  for (let y = 0; y < source.height; y++)
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (const [j, w] of cols[x]) sum += w * source.data[y * source.width + j];
      across.data[y * width + x] = sum;
    }
  const out = plane(width, height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (const [j, w] of rows[y]) sum += w * across.data[j * width + x];
      out.data[y * width + x] = sum;
    }
  return out;
}

// ---- the whole front half: preprocess() up to the graph ----

// RGBA pixels -> {digit: Float32Array(28 * 28), the fitted digit at the top left (the graph's input),
// isInk}. Raises NoDigitError when there is no digit.
export function fittedDigit(image) {
  const { ink, isInk } = inkOf(image);
  const [digit, edge] = digitInk(ink, !isInk); // only photos have shadows and paper edges
  const fitted = normalizeStrokes(digit, edge);
  const canvas = new Float32Array(C.SIZE * C.SIZE);
  for (let y = 0; y < fitted.height; y++) canvas.set(fitted.data.subarray(y * fitted.width, (y + 1) * fitted.width), y * C.SIZE);
  return { digit: canvas, isInk };
}
