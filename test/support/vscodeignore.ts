// Which files `vsce package` puts in the .vsix, by the repository's .vscodeignore: for unit tests
// that check a file ships without building a package.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * vsce's rule (out/package.js collectFiles): a file is left out when an ignore pattern matches it
 * and no `!` pattern does, patterns matched with minimatch and { dot: true }. The authoritative
 * check of a real package is scripts/check-vsix.mjs, run by `npm run package`.
 */
export function packagedBy(root: string): (file: string) => boolean {
  const { minimatch } = createRequire(__filename)('minimatch') as { minimatch: (path: string, pattern: string, options: object) => boolean };
  const lines = readFileSync(join(root, '.vscodeignore'), 'utf8')
    .split(/[\n\r]/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const ignore = lines.filter((l) => !l.startsWith('!'));
  const negate = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1));
  return (file) => !ignore.some((p) => minimatch(file, p, { dot: true })) || negate.some((p) => minimatch(file, p, { dot: true }));
}
