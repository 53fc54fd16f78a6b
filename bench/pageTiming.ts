// What the views' benchmarks (views.ts, viewsLarge.ts) measure in the page, written once: the
// script time of each animation-frame callback, and a summary of a list of timings.
import type { ViewPage } from '../test/webview/harness';

export function stats(ms: readonly number[]): { median: number; p95: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))], max: s[s.length - 1] };
}

/** Records how long each animation-frame callback of the page runs, from now on, into window.__frames. */
export async function recordFrames(page: ViewPage<unknown>['page']): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __frames: number[]; __rafPatched?: boolean };
    w.__frames = [];
    if (w.__rafPatched) return;
    w.__rafPatched = true;
    const original = window.requestAnimationFrame.bind(window);
    window.requestAnimationFrame = (callback) =>
      original((time) => {
        const start = performance.now();
        callback(time);
        w.__frames.push(performance.now() - start);
      });
  });
}
