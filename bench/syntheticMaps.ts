// Feature maps with the structure of a real CNN's, without training one: MNIST digits through a
// random 3×3 convolution + ReLU (layer li, 64 channels of 16×16), then 2×2 max-pooling, a random
// 1×1 convolution mixing the channels + ReLU (layer lj, 64 channels of 8×8). Channels of li are
// edge/blob detectors of the digits and lj mixes them, so distances between samples are
// correlated across channels and layers the way the capacity heatmap expects, unlike noise.
// Deterministic from the seed; only generated, never timed.
import { imagesAsFloat32, loadMnist, stratifiedSubset } from '../src/core/data/mnist';
import { seededRandom as random } from '../test/support/seededRandom';

export interface SyntheticLayers {
  n: number;
  /** n × 64 × 16 × 16 */
  li: Float32Array;
  /** n × 64 × 8 × 8 */
  lj: Float32Array;
  labels: Int32Array;
}

/** Box-filters a 28×28 image, zero-padded to 32×32, down to 16×16. */
function downsample(img: Float32Array, o: number, out: Float32Array): void {
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      let s = 0;
      for (let dy = 0; dy < 2; dy++) {
        for (let dx = 0; dx < 2; dx++) {
          const sy = 2 * y + dy - 2;
          const sx = 2 * x + dx - 2;
          if (sy >= 0 && sy < 28 && sx >= 0 && sx < 28) s += img[o + sy * 28 + sx];
        }
      }
      out[y * 16 + x] = s / 4;
    }
  }
}

export async function syntheticLayers(perClass: number, seed = 3): Promise<SyntheticLayers> {
  const test = await loadMnist('test');
  const subset = stratifiedSubset(test.labels, perClass, seed);
  const images = imagesAsFloat32(test, subset);
  const n = subset.length;
  const rand = random(seed);
  const C = 64;
  const w1 = Float32Array.from({ length: C * 9 }, () => (rand() * 2 - 1) / 3);
  const b1 = Float32Array.from({ length: C }, () => (rand() - 0.7) * 0.3);
  const w2 = Float32Array.from({ length: C * C }, () => (rand() * 2 - 1) / 8);
  const b2 = Float32Array.from({ length: C }, () => (rand() - 0.5) * 0.2);
  const li = new Float32Array(n * C * 256);
  const lj = new Float32Array(n * C * 64);
  const small = new Float32Array(256);
  const pooled = new Float32Array(C * 64);
  for (let s = 0; s < n; s++) {
    downsample(images, s * 784, small);
    for (let c = 0; c < C; c++) {
      const base = (s * C + c) * 256;
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 16; x++) {
          let v = b1[c];
          for (let ky = 0; ky < 3; ky++) {
            const yy = y + ky - 1;
            if (yy < 0 || yy >= 16) continue;
            for (let kx = 0; kx < 3; kx++) {
              const xx = x + kx - 1;
              if (xx >= 0 && xx < 16) v += w1[c * 9 + ky * 3 + kx] * small[yy * 16 + xx];
            }
          }
          li[base + y * 16 + x] = v > 0 ? v : 0;
        }
      }
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          const p = base + 2 * y * 16 + 2 * x;
          pooled[c * 64 + y * 8 + x] = Math.max(li[p], li[p + 1], li[p + 16], li[p + 17]);
        }
      }
    }
    for (let c = 0; c < C; c++) {
      const base = (s * C + c) * 64;
      for (let p = 0; p < 64; p++) {
        let v = b2[c];
        for (let ci = 0; ci < C; ci++) v += w2[c * C + ci] * pooled[ci * 64 + p];
        lj[base + p] = v > 0 ? v : 0;
      }
    }
  }
  const labels = Int32Array.from(subset, (i) => test.labels[i]);
  return { n, li, lj, labels };
}
