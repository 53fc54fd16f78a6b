// Layer lists of deep torchvision-style models, named by module path as the probe records them:
// what the query view's blocks and the L axis's bands are tested on at 50–150 layers. Small
// shapes, so a run written with them stays small.
import type { LayerInfo } from '../../src/shared/runFormat';

function layer(name: string, kind: LayerInfo['kind'], channels: number, size: number): LayerInfo {
  return { name, kind, shape: [channels, size, size] };
}

/**
 * A MobileNetV2 of exactly 140 layers: features.0 (conv, bn, relu6), features.1.conv (5), sixteen
 * inverted residuals features.2 … features.17 of 8 layers each (features.N.conv.0.0 … conv.3),
 * features.18 (3), and classifier.1.
 */
export function mobileNetV2Layers(): LayerInfo[] {
  const out: LayerInfo[] = [layer('features.0.0', 'conv', 8, 4), layer('features.0.1', 'norm', 8, 4), layer('features.0.2', 'activation', 8, 4)];
  for (const n of ['conv.0.0', 'conv.0.1', 'conv.0.2', 'conv.1', 'conv.2'])
    out.push(layer(`features.1.${n}`, n.endsWith('.0') || n === 'conv.1' ? 'conv' : n.endsWith('.2') ? 'activation' : 'norm', 4, 4));
  for (let b = 2; b <= 17; b++) {
    const c = 4 + (b % 5);
    for (const [n, kind] of [
      ['conv.0.0', 'conv'],
      ['conv.0.1', 'norm'],
      ['conv.0.2', 'activation'],
      ['conv.1.0', 'conv'],
      ['conv.1.1', 'norm'],
      ['conv.1.2', 'activation'],
      ['conv.2', 'conv'],
      ['conv.3', 'norm'],
    ] as const)
      out.push(layer(`features.${b}.${n}`, kind, c, 2));
  }
  out.push(layer('features.18.0', 'conv', 12, 2), layer('features.18.1', 'norm', 12, 2), layer('features.18.2', 'activation', 12, 2));
  out.push({ name: 'classifier.1', kind: 'linear', shape: [3] });
  return out;
}

/**
 * A ResNet-18 as the probe records it with layers="blocks": the stem, four stages of two basic
 * blocks (a downsample in the first block of stages 2–4), each block's output as its own layer
 * (`layer1.0`), then the head.
 */
export function resNet18Layers(): LayerInfo[] {
  const out: LayerInfo[] = [layer('conv1', 'conv', 8, 4), layer('bn1', 'norm', 8, 4), layer('relu', 'activation', 8, 4), layer('maxpool', 'pool', 8, 2)];
  for (let s = 1; s <= 4; s++)
    for (let b = 0; b < 2; b++) {
      const p = `layer${s}.${b}`;
      const c = 4 * s;
      out.push(layer(`${p}.conv1`, 'conv', c, 2), layer(`${p}.bn1`, 'norm', c, 2), layer(`${p}.relu`, 'activation', c, 2));
      out.push(layer(`${p}.conv2`, 'conv', c, 2), layer(`${p}.bn2`, 'norm', c, 2));
      if (s > 1 && b === 0) out.push(layer(`${p}.downsample.0`, 'conv', c, 2), layer(`${p}.downsample.1`, 'norm', c, 2));
      out.push(layer(`${p}.relu#1`, 'activation', c, 2), { name: p, kind: 'block', shape: [c, 2, 2] });
    }
  out.push(layer('avgpool', 'pool', 16, 1), { name: 'fc', kind: 'linear', shape: [3] });
  return out;
}
