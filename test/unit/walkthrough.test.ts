// The walkthrough (package.json `contributes.walkthroughs`) is read by VS Code alone: a button that
// names a command nobody contributes does nothing, a step whose completion event never fires stays
// unchecked, and a media file left out of the .vsix shows an empty page. These checks keep it whole.
import * as assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { COMMAND } from '../../src/extension/commandIds';
import { packagedBy } from '../support/vscodeignore';

const root = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  contributes: { commands: { command: string }[]; walkthroughs: Walkthrough[] };
};

interface Step {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly media: { readonly markdown?: string; readonly image?: unknown };
  readonly completionEvents: readonly string[];
}

interface Walkthrough {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly steps: readonly Step[];
}

/** The command ids a step's description links to: VS Code renders a link alone on its line as a button. */
function commandLinks(description: string): string[] {
  return [...description.matchAll(/\]\(command:([\w.]+)(?:\?[^)]*)?\)/g)].map((m) => m[1]);
}

/** The local files a markdown page shows as images, relative to the extension's folder. */
function imagesOf(markdownPath: string): string[] {
  const text = readFileSync(join(root, markdownPath), 'utf8');
  return [...text.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => posix.normalize(posix.join(posix.dirname(markdownPath), m[1])));
}

describe('walkthrough (package.json contributes.walkthroughs)', () => {
  const walkthroughs = pkg.contributes.walkthroughs;
  const contributed = new Set(pkg.contributes.commands.map((c) => c.command));
  const packaged = packagedBy(root);

  it('is one walkthrough whose steps go from the sample run to training a model', () => {
    assert.deepEqual(
      walkthroughs.map((w) => w.id),
      ['cnnslicer.gettingStarted'],
    );
    assert.deepEqual(
      walkthroughs[0].steps.map((s) => s.id),
      ['openSampleRun', 'readTrainingView', 'queryLayer', 'installProbe', 'attachProbe', 'trainModel'],
    );
  });

  it('gives every step one button, for a contributed command, and completes the step when that command runs', () => {
    const expected = [COMMAND.openSampleRun, COMMAND.openTrainingView, COMMAND.openQueryView, COMMAND.installProbe, COMMAND.attachProbe, COMMAND.trainModel];
    for (const [i, step] of walkthroughs[0].steps.entries()) {
      const links = commandLinks(step.description);
      assert.deepEqual(links, [expected[i]], `step ${step.id}: its button`);
      assert.ok(contributed.has(links[0]), `step ${step.id}: ${links[0]} is contributed`);
      // The button is a line of its own, so VS Code draws it as a button rather than an inline link.
      assert.match(step.description, /(^|\n)\[[^\]]+\]\(command:[\w.]+\)$/, `step ${step.id}: the button is the last line`);
      assert.deepEqual(step.completionEvents, [`onCommand:${links[0]}`], `step ${step.id}: completion`);
      assert.ok(step.title.length > 0 && step.description.length > 0, `step ${step.id}: title and description`);
    }
  });

  it('has a markdown page per step that exists and ships in the .vsix, with the images it shows', () => {
    const pages = new Set<string>();
    for (const step of walkthroughs[0].steps) {
      const page = step.media.markdown;
      assert.ok(page !== undefined && page.startsWith('media/walkthrough/') && page.endsWith('.md'), `step ${step.id}: markdown media ${page}`);
      assert.ok(!pages.has(page), `step ${step.id}: a page of its own`);
      pages.add(page);
      assert.ok(existsSync(join(root, page)), `${page} exists`);
      assert.ok(packaged(page), `${page} is packaged`);
      assert.match(readFileSync(join(root, page), 'utf8'), /^# \S/, `${page} starts with a heading`);
      for (const image of imagesOf(page)) {
        assert.ok(!image.startsWith('..') && existsSync(join(root, image)), `${page} shows ${image}, a file of the extension`);
        assert.ok(packaged(image), `${image}, shown by ${page}, is packaged`);
      }
    }
    // The folder holds nothing the walkthrough does not show.
    assert.deepEqual(readdirSync(join(root, 'media', 'walkthrough')).sort(), [...pages].map((p) => posix.basename(p)).sort());
  });
});
