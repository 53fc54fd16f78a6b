// Small images of tensors: feature maps (the layer view's Fig. 8C–D, Fig. 9), probe inputs and
// deconvnet projections (the channel view's Fig. 13C, Fig. 15). Each image is drawn at its own
// resolution into a canvas and enlarged by CSS with `image-rendering: pixelated`, so a 13×13 map
// shows as 13×13 blocks rather than a blur. The channel view imports this file too.

/**
 * How values become grey levels, per image:
 * - `range`: the image's min is black, its max white (feature maps, which are often all ≥ 0);
 * - `signed`: 0 is mid-grey, ±(largest |value|) black and white, so the sign of a deconvnet
 *   projection stays visible.
 */
export type GreyScale = 'range' | 'signed';

export interface TensorImage {
  readonly canvas: HTMLCanvasElement;
  /** The smallest and largest value shown. */
  readonly min: number;
  readonly max: number;
  /** Every value is the same: the image is one flat grey, which is what the data holds. */
  readonly flat: boolean;
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Image `index` of a row-major [n, C, H, W] tensor: RGB when C is 3 (a colour input), otherwise the
 * mean over the channels in grey. `shape` may also be [n, H, W].
 */
export function tensorImage(data: Float32Array, shape: readonly number[], index: number, scale: GreyScale, className: string, displayPx: number): TensorImage {
  const dims = shape.length === 3 ? [shape[0], 1, shape[1], shape[2]] : shape;
  const [, channels, height, width] = dims;
  const plane = height * width;
  const offset = index * product(dims.slice(1));
  let min = Infinity;
  let max = -Infinity;
  let maxAbs = 0;
  for (let i = 0; i < channels * plane; i++) {
    const v = data[offset + i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const flat = !(max > min);
  const level = (v: number): number => {
    if (!Number.isFinite(v)) return 0;
    if (scale === 'signed') return maxAbs > 0 ? 127.5 + (127.5 * v) / maxAbs : 127.5;
    return flat ? 127.5 : (255 * (v - min)) / (max - min);
  };
  const canvas = document.createElement('canvas');
  canvas.className = className;
  canvas.width = width;
  canvas.height = height;
  const aspect = width / height;
  canvas.style.width = `${Math.round(aspect >= 1 ? displayPx : displayPx * aspect)}px`;
  canvas.style.height = `${Math.round(aspect >= 1 ? displayPx / aspect : displayPx)}px`;
  const ctx = canvas.getContext('2d');
  if (ctx !== null) {
    const pixels = ctx.createImageData(width, height);
    const out = pixels.data;
    for (let p = 0; p < plane; p++) {
      let r: number;
      let g: number;
      let b: number;
      if (channels === 3) {
        r = level(data[offset + p]);
        g = level(data[offset + plane + p]);
        b = level(data[offset + 2 * plane + p]);
      } else {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += data[offset + c * plane + p];
        r = g = b = level(sum / channels);
      }
      out[4 * p] = r;
      out[4 * p + 1] = g;
      out[4 * p + 2] = b;
      out[4 * p + 3] = 255;
    }
    ctx.putImageData(pixels, 0, 0);
  }
  return { canvas, min: Number.isFinite(min) ? min : 0, max: Number.isFinite(max) ? max : 0, flat };
}

/** Whether a slice's per-sample shape is a picture ([C, H, W]) rather than a vector of features. */
export function isImageShape(shape: readonly number[]): boolean {
  return shape.length === 4 && shape[2] > 1 && shape[3] > 1;
}
