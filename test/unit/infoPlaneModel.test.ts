// The information-plane view's pure modules (webview/infoplane/trajectories.ts, paramsText.ts): the
// engine's points per epoch regrouped into a trajectory per representation, the marker's point at
// an epoch (also while a live run's newest epoch is still computed), depth colours whose lightness
// rises with depth, the point under the pointer where a trajectory's points coincide, and the
// footer's words for the estimator's parameters.
import * as assert from 'node:assert/strict';
import type { InfoPlaneEpoch } from '../../src/shared/information';
import { estimatorText } from '../../webview/infoplane/paramsText';
import {
  depthColor,
  formatBits,
  markedEpoch,
  nearestPoint,
  pointAt,
  pointUnder,
  trajectoriesOf,
  viridis,
  type ScreenPoint,
} from '../../webview/infoplane/trajectories';

function plane(epoch: number, layers: readonly string[]): InfoPlaneEpoch {
  return { epoch, n: 10, approximate: false, points: layers.map((layer, depth) => ({ epoch, layer, depth, IXT: depth + epoch / 10, ITY: 1 - depth / 10 })) };
}

function lightness(css: string): number {
  const [r, g, b] = (/rgb\((\d+), (\d+), (\d+)\)/.exec(css) ?? []).slice(1).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('information-plane trajectories', () => {
  it('regroups the epochs’ points into one trajectory per representation, shallowest first, epochs in order', () => {
    // Epochs out of order and layers listed deepest first: the view orders both itself.
    const items = [plane(2, ['input', 'a', 'b']), plane(0, ['input', 'a', 'b']), plane(1, ['input', 'a', 'b'])].map((p) => ({
      ...p,
      points: [...p.points].reverse(),
    }));
    const t = trajectoriesOf(items);
    assert.deepEqual(
      t.map((x) => [x.layer, x.depth, x.points.map((p) => p.epoch)]),
      [
        ['input', 0, [0, 1, 2]],
        ['a', 1, [0, 1, 2]],
        ['b', 2, [0, 1, 2]],
      ],
    );
    assert.deepEqual(t[1].points[2], { epoch: 2, IXT: 1.2, ITY: 0.9 });
  });

  it('keeps a value the engine could not give as a gap, not a number', () => {
    const item: InfoPlaneEpoch = { epoch: 0, n: 3, approximate: false, points: [{ epoch: 0, layer: 'a', depth: 1, IXT: NaN, ITY: null as unknown as number }] };
    assert.deepEqual(trajectoriesOf([item])[0].points[0], { epoch: 0, IXT: undefined, ITY: undefined });
    assert.equal(formatBits(undefined), '–');
    assert.equal(formatBits(1.23456789), '1.23457');
    assert.equal(formatBits(7.5), '7.5');
  });

  it('marks the epoch asked for, or while it is computed the latest one before it', () => {
    const items = [0, 1, 2, 5].map((e) => plane(e, ['input', 'a']));
    const [, a] = trajectoriesOf(items);
    assert.equal(pointAt(a, 2)?.epoch, 2);
    assert.equal(pointAt(a, 4)?.epoch, 2);
    assert.equal(pointAt(a, 9)?.epoch, 5);
    assert.equal(markedEpoch(items, 4), 2);
    assert.equal(markedEpoch(items, undefined), undefined);
    assert.equal(markedEpoch([plane(3, ['a'])], 1), undefined);
  });

  it('colours depth along viridis, lighter with depth in light and dark themes, without its vanishing end', () => {
    assert.equal(viridis(0), 'rgb(68, 1, 84)');
    assert.equal(viridis(1), 'rgb(253, 231, 37)');
    for (const dark of [false, true]) {
      const l = Array.from({ length: 8 }, (_, d) => lightness(depthColor(d, 7, dark)));
      for (let i = 1; i < l.length; i++) assert.ok(l[i] > l[i - 1], `${dark ? 'dark' : 'light'}: depth ${i}`);
    }
    // No pale yellow on white, no near-black purple on a dark background.
    assert.notEqual(depthColor(7, 7, false), viridis(1));
    assert.notEqual(depthColor(0, 7, true), viridis(0));
    assert.equal(depthColor(0, 0, false), viridis(0));
  });

  it('finds the point under the pointer, and where a trajectory’s points coincide takes the marked epoch', () => {
    const at = (layer: string, epoch: number, x: number, y: number): ScreenPoint => ({ layer, depth: 0, epoch, IXT: x, ITY: y, x, y });
    const points = [at('input', 0, 10, 10), at('input', 1, 10, 10), at('input', 2, 10.4, 10), at('a', 0, 30, 30), at('a', 1, 40, 30)];
    assert.equal(nearestPoint(points, 38, 31, 5)?.epoch, 1);
    assert.equal(nearestPoint(points, 100, 100, 5), undefined);
    assert.deepEqual(pointUnder(points, 11, 10, 5, 1), { point: points[1], sameEpochs: [0, 1, 2] });
    assert.equal(pointUnder(points, 11, 10, 5, 7)?.point.epoch, 2, 'the marked epoch is not among them: the one on top');
    assert.deepEqual(pointUnder(points, 31, 30, 5, 1), { point: points[3], sameEpochs: [0] });
  });
});

describe('information-plane estimator footer', () => {
  it('names α, the σ rule and the exact limit the engine used, and any other Rényi parameter it reports', () => {
    const text = estimatorText({ intraBins: 32, renyiAlpha: 1.01, renyiSigma: 'median', renyiSigmaValue: 1, renyiExactMax: 4096, renyiProbes: 30 });
    assert.match(text, /^Matrix-based Rényi α-order information/);
    assert.match(
      text,
      /Parameters: α = 1\.01; σ of each representation: the median distance between its samples; eigenvalues exact up to 4096 samples, estimated above; renyiProbes = 30\.$/,
    );
    assert.doesNotMatch(text, /intraBins|renyiSigmaValue/, 'other measures’ parameters, and σ’s value when a rule chooses it, are not this plane’s');
    assert.match(estimatorText({ renyiAlpha: 2, renyiSigma: 'fixed', renyiSigmaValue: 0.5 }), /α = 2; σ = 0\.5 for every representation\./);
    assert.match(estimatorText({ renyiSigma: 'silverman' }), /Silverman’s rule of thumb/);
    assert.match(estimatorText({ intraBins: 32 }), /Parameters: the engine’s defaults/);
    assert.doesNotMatch(estimatorText(undefined), /Parameters/);
  });
});
