import * as assert from 'node:assert/strict';
import { CoalescingRunner, Debouncer, forEachWithConcurrency } from '../../src/extension/scheduling';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A promise with its resolve function, to hold a task open until the test lets it finish. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('extension scheduling', () => {
  describe('Debouncer', () => {
    it('acts once, after the last trigger of a burst', async () => {
      let calls = 0;
      // Generous against the triggers' 5 ms spacing, so a loaded CI machine does not fire it early.
      const debouncer = new Debouncer(150, () => calls++);
      for (let i = 0; i < 5; i++) {
        debouncer.trigger();
        await sleep(5);
      }
      assert.equal(calls, 0);
      await sleep(300);
      assert.equal(calls, 1);
      debouncer.trigger();
      await sleep(300);
      assert.equal(calls, 2);
    });

    it('does nothing once disposed', async () => {
      let calls = 0;
      const debouncer = new Debouncer(10, () => calls++);
      debouncer.trigger();
      debouncer.dispose();
      debouncer.trigger();
      await sleep(40);
      assert.equal(calls, 0);
    });
  });

  describe('CoalescingRunner', () => {
    it('runs one task at a time and merges the requests made meanwhile into one more run', async () => {
      const runs: boolean[] = [];
      let active = 0;
      let maxActive = 0;
      const gates = [gate(), gate()];
      const runner = new CoalescingRunner(async (force) => {
        const index = runs.length;
        runs.push(force);
        active++;
        maxActive = Math.max(maxActive, active);
        await gates[index].promise;
        active--;
      });
      const first = runner.request(false);
      await sleep(0);
      const second = runner.request(false);
      const third = runner.request(true);
      const fourth = runner.request(false);
      assert.equal(third, second);
      assert.equal(fourth, second);
      gates[0].open();
      await first;
      gates[1].open();
      await second;
      assert.deepEqual(runs, [false, true]);
      assert.equal(maxActive, 1);
    });

    it('passes a task’s failure to its requesters and keeps running later requests', async () => {
      let calls = 0;
      const runner = new CoalescingRunner(async () => {
        calls++;
        if (calls === 1) throw new Error('scan failed');
      });
      await assert.rejects(runner.request(false), /scan failed/);
      await runner.request(false);
      assert.equal(calls, 2);
    });
  });

  describe('forEachWithConcurrency', () => {
    it('handles every item with at most `limit` in flight', async () => {
      let active = 0;
      let maxActive = 0;
      const seen: number[] = [];
      await forEachWithConcurrency([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(5);
        seen.push(n);
        active--;
      });
      assert.deepEqual([...seen].sort(), [1, 2, 3, 4, 5, 6, 7]);
      assert.equal(maxActive, 3);
    });

    it('finishes the other items when one fails, then rethrows the failure', async () => {
      const seen: number[] = [];
      await assert.rejects(
        forEachWithConcurrency([1, 2, 3, 4], 2, async (n) => {
          if (n === 2) throw new Error('item 2');
          await sleep(2);
          seen.push(n);
        }),
        /item 2/,
      );
      assert.deepEqual(seen.sort(), [1, 3, 4]);
    });

    it('settles at once for no items', async () => {
      await forEachWithConcurrency([], 4, async () => assert.fail('called'));
    });
  });
});
