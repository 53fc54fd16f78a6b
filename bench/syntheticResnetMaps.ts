// Two layers of the sizes of a ResNet's deep stages, for the 512 × 512 channel-capacity benchmark,
// without training one: MNIST digits, zero-padded to 32×32 and averaged down to 8×8, through 16
// random 3×3 filters + ReLU (a stem), a random 1×1 convolution to 512 channels + ReLU (layer li,
// 512 × 8×8, as layer3 of a ResNet-18 on 128-pixel inputs), then 2×2 max-pooling and a sparse
// random 1×1 convolution (each output channel mixes 32 of li's) + ReLU (layer lj, 512 × 4×4, as
// layer4). Channels are correlated within and across the layers as in a real network, many maps
// are partly zero (ReLU), and the two layers' pair distances concentrate the way deep features'
// do. Deterministic from the seed; only generated, never timed.
import { imagesAsFloat32, loadMnist, stratifiedSubset } from '../src/core/data/mnist';
import { seededRandom as random } from '../test/support/seededRandom';

export interface ResnetLikeLayers {
  n: number;
  channels: number;
  /** n × 512 × 8 × 8 */
  li: Float32Array;
  /** n × 512 × 4 × 4 */
  lj: Float32Array;
}

/** The 28×28 image at `o`, zero-padded to 32×32, averaged over 4×4 blocks: 8×8. */
function downsample(img: Float32Array, o: number, out: Float32Array): void {
  out.fill(0);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) out[((y + 2) >> 2) * 8 + ((x + 2) >> 2)] += img[o + y * 28 + x] / 16;
  }
}

export async function resnetLikeLayers(perClass: number, seed = 5): Promise<ResnetLikeLayers> {
  const test = await loadMnist('test');
  const subset = stratifiedSubset(test.labels, perClass, seed);
  const images = imagesAsFloat32(test, subset);
  const n = subset.length;
  const rand = random(seed);
  const [stem, C, fanIn] = [16, 512, 32];
  const w0 = Float32Array.from({ length: stem * 9 }, () => rand() * 2 - 1);
  const b0 = Float32Array.from({ length: stem }, () => (rand() - 0.6) * 0.3);
  const w1 = Float32Array.from({ length: C * stem }, () => (rand() * 2 - 1) / 2);
  const b1 = Float32Array.from({ length: C }, () => (rand() - 0.6) * 0.3);
  const inputs = Int32Array.from({ length: C * fanIn }, () => Math.floor(rand() * C));
  const w2 = Float32Array.from({ length: C * fanIn }, () => (rand() * 2 - 1) / 3);
  const b2 = Float32Array.from({ length: C }, () => (rand() - 0.5) * 0.2);
  const li = new Float32Array(n * C * 64);
  const lj = new Float32Array(n * C * 16);
  const small = new Float32Array(64);
  const stemMaps = new Float32Array(stem * 64);
  const pooled = new Float32Array(C * 16);
  for (let s = 0; s < n; s++) {
    downsample(images, s * 784, small);
    for (let k = 0; k < stem; k++) {
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) {
          let v = b0[k];
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              const [yy, xx] = [y + ky - 1, x + kx - 1];
              if (yy >= 0 && yy < 8 && xx >= 0 && xx < 8) v += w0[k * 9 + ky * 3 + kx] * small[yy * 8 + xx];
            }
          }
          stemMaps[k * 64 + y * 8 + x] = v > 0 ? v : 0;
        }
      }
    }
    for (let c = 0; c < C; c++) {
      const base = (s * C + c) * 64;
      for (let p = 0; p < 64; p++) {
        let v = b1[c];
        for (let k = 0; k < stem; k++) v += w1[c * stem + k] * stemMaps[k * 64 + p];
        li[base + p] = v > 0 ? v : 0;
      }
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) {
          const p = base + 2 * y * 8 + 2 * x;
          pooled[c * 16 + y * 4 + x] = Math.max(li[p], li[p + 1], li[p + 8], li[p + 9]);
        }
      }
    }
    for (let c = 0; c < C; c++) {
      const base = (s * C + c) * 16;
      for (let p = 0; p < 16; p++) {
        let v = b2[c];
        for (let k = 0; k < fanIn; k++) v += w2[c * fanIn + k] * pooled[inputs[c * fanIn + k] * 16 + p];
        lj[base + p] = v > 0 ? v : 0;
      }
    }
  }
  return { n, channels: C, li, lj };
}
