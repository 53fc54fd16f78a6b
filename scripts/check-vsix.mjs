#!/usr/bin/env node
// Checks what a packaged .vsix holds: everything the extension needs at run time, and nothing it
// does not (sources, tests, source maps, native binaries for other platforms).
//   node scripts/check-vsix.mjs [cnnslicer.vsix]
// Prints a summary and exits 1 listing every problem found. Reads the zip itself (central directory
// plus one inflated entry) so it needs no unzip tool or package.
import { readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const vsixPath = process.argv[2] ?? 'cnnslicer.vsix';
/** The whole package, compressed. The linux-x64 onnxruntime binary alone is ~15 MB of it. */
const MAX_VSIX_BYTES = 40 * 1024 * 1024;

/** Every entry of a zip file: name, sizes and where its data starts. */
function readZipEntries(buf) {
  // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${vsixPath} is not a zip file (no end of central directory)`);
  const count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) throw new Error(`${vsixPath} is a zip64 archive, which this check does not read`);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(offset) !== 0x02014b50) throw new Error(`${vsixPath}: bad central directory entry ${i}`);
    const method = buf.readUInt16LE(offset + 10);
    const compressedSize = buf.readUInt32LE(offset + 20);
    const size = buf.readUInt32LE(offset + 24);
    const nameLength = buf.readUInt16LE(offset + 28);
    const extraLength = buf.readUInt16LE(offset + 30);
    const commentLength = buf.readUInt16LE(offset + 32);
    const localHeader = buf.readUInt32LE(offset + 42);
    const name = buf.toString('utf8', offset + 46, offset + 46 + nameLength);
    entries.push({ name, method, compressedSize, size, localHeader });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function readEntry(buf, entry) {
  const h = entry.localHeader;
  const start = h + 30 + buf.readUInt16LE(h + 26) + buf.readUInt16LE(h + 28);
  const data = buf.subarray(start, start + entry.compressedSize);
  if (entry.method === 0) return data;
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${entry.name}: compression method ${entry.method} is not supported`);
}

const buf = readFileSync(vsixPath);
const entries = readZipEntries(buf);
const files = entries.map((e) => e.name).filter((n) => !n.endsWith('/'));
const inExtension = files.filter((n) => n.startsWith('extension/')).map((n) => n.slice('extension/'.length));
const problems = [];

/** Paths (inside the extension folder) that must not ship, with why. */
const forbidden = [
  [/^src\//, 'TypeScript sources'],
  [/^test\//, 'tests'],
  [/^webview\//, 'webview sources (the bundles are in dist/webview)'],
  // examples/ is development material, except the embedded sample run and the scripts the trainer loads its models from
  // (their layers' source lines point into them).
  [/^(bench|examples\/(?!sample-run\/|mnist_pytorch\.py$|cifar10_pytorch\.py$)|scripts|\.ci|out|docs\/(?!images\/))/, 'a development folder'],
  [/(^|\/)tsconfig[^/]*\.json$/, 'a TypeScript config'],
  [/^esbuild\.mjs$/, 'the build script'],
  [/\.ts$/, 'a .ts file'],
  [/\.map$/, 'a source map'],
  [/(^|\/)__pycache__\/|\.pyc$/, 'Python bytecode'],
  [/^node_modules\/onnxruntime-node\/bin\/(?!napi-v\d+\/linux\/x64\/)/, 'an onnxruntime binary for another platform'],
  [
    /^node_modules\/(?!onnxruntime-node\/|onnxruntime-common\/)/,
    'a module the bundles do not load (only onnxruntime-node and onnxruntime-common stay external)',
  ],
  [/(^|\/)\.env$|(^|\/)\.git\//, 'a secret or repository file'],
];
for (const path of inExtension) {
  for (const [pattern, why] of forbidden) {
    if (pattern.test(path)) {
      problems.push(`ships ${path}: ${why}`);
      break;
    }
  }
}

/** Paths (or patterns) that must ship. */
const required = [
  ['package.json', 'the extension manifest'],
  // vsce stores LICENSE as LICENSE.txt and README.md as readme.md.
  [/^LICENSE(\.txt)?$/i, 'the license'],
  [/^readme\.md$/i, 'the README'],
  ['dist/extension/extension.js', 'the extension host bundle (package.json main)'],
  ['dist/engine/main.js', 'the engine process'],
  ['dist/engine/cli.js', 'the command line (package.json bin)'],
  ['dist/engine/knnWorker.js', 'the k-NN worker thread, found beside main.js and cli.js'],
  ['dist/engine/sigmaWorker.js', 'the sigma-solve worker thread'],
  ['dist/engine/capacityWorker.js', 'the channel-capacity histogram worker thread'],
  ['dist/engine/capacityCodesWorker.js', 'the channel-capacity distances and binning worker thread'],
  ['dist/engine/renyiWorker.js', 'the information plane worker thread'],
  ['dist/trainer/tfjsTrainer.js', 'the TF.js trainer'],
  ['dist/trainer/tfjs-backend-wasm-simd.wasm', 'the TF.js wasm backend (SIMD build), loaded from beside the trainer'],
  ['dist/trainer/tfjs-backend-wasm.wasm', 'the TF.js wasm backend (plain build, for runtimes without SIMD)'],
  ['media/cnnslicer.svg', 'the activity bar icon'],
  ['python/cnnslicer/__init__.py', 'the Python probe'],
  [
    /^dist\/python\/cnnslicer-[^-/]+-py3-none-any\.whl$/,
    'the probe wheel Install Probe installs (scripts/build-wheel.mjs, run by esbuild.mjs, needs a Python with pip and hatchling)',
  ],
  ['examples/sample-run/cnnslicer.json', 'the embedded sample run'],
  ['examples/mnist_pytorch.py', 'the MNIST models the trainer loads (python/cnnslicer/train.py)'],
  ['examples/cifar10_pytorch.py', 'the CIFAR-10 model and reader the trainer loads (python/cnnslicer/train.py)'],
  ['node_modules/onnxruntime-node/dist/index.js', 'onnxruntime-node'],
  [/^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/onnxruntime_binding\.node$/, 'the onnxruntime binding for linux-x64'],
  [/^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/libonnxruntime\.so/, 'the onnxruntime library for linux-x64'],
  ['node_modules/onnxruntime-common/dist/cjs/index.js', 'onnxruntime-common, which onnxruntime-node requires'],
];
for (const [want, what] of required) {
  const found = typeof want === 'string' ? inExtension.includes(want) : inExtension.some((p) => want.test(p));
  if (!found) problems.push(`lacks ${typeof want === 'string' ? want : want.source}: ${what}`);
}

// The walkthrough's pages (package.json contributes.walkthroughs) and the images they show: VS Code
// reads them by path, so one left out is an empty page, found by no other check.
const packageEntry = entries.find((e) => e.name === 'extension/package.json');
if (packageEntry !== undefined) {
  const walkthroughs = JSON.parse(readEntry(buf, packageEntry).toString('utf8')).contributes?.walkthroughs ?? [];
  for (const step of walkthroughs.flatMap((w) => w.steps ?? [])) {
    const media = step.media ?? {};
    for (const file of [media.markdown, media.image, media.svg].filter((f) => typeof f === 'string')) {
      if (!inExtension.includes(file)) {
        problems.push(`lacks ${file}: the media of walkthrough step ${step.id}`);
        continue;
      }
      if (!file.endsWith('.md')) continue;
      const page = readEntry(
        buf,
        entries.find((e) => e.name === `extension/${file}`),
      ).toString('utf8');
      for (const [, link] of page.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)) {
        const image = posix.normalize(posix.join(posix.dirname(file), link));
        if (!inExtension.includes(image)) problems.push(`lacks ${image}: an image of ${file}`);
      }
    }
  }
}

// Only linux-x64 binaries ship, so the package must say so, or VS Code would install it elsewhere and fail at run time.
const manifestEntry = entries.find((e) => e.name === 'extension.vsixmanifest');
if (manifestEntry === undefined) problems.push('lacks extension.vsixmanifest');
else if (!/TargetPlatform="linux-x64"/.test(readEntry(buf, manifestEntry).toString('utf8'))) {
  problems.push('extension.vsixmanifest does not declare TargetPlatform="linux-x64" (package with `vsce package --target linux-x64`)');
}

const vsixBytes = statSync(vsixPath).size;
if (vsixBytes > MAX_VSIX_BYTES) problems.push(`is ${(vsixBytes / 2 ** 20).toFixed(1)} MiB, more than ${MAX_VSIX_BYTES / 2 ** 20} MiB`);

// A short account of where the bytes go, by top-level folder (node_modules by package).
const groups = new Map();
for (const e of entries) {
  if (!e.name.startsWith('extension/') || e.name.endsWith('/')) continue;
  const parts = e.name.slice('extension/'.length).split('/');
  const key = parts.length === 1 ? '(top level)' : parts[0] === 'node_modules' ? parts.slice(0, 2).join('/') : parts[0];
  const g = groups.get(key) ?? { files: 0, size: 0, compressed: 0 };
  g.files += 1;
  g.size += e.size;
  g.compressed += e.compressedSize;
  groups.set(key, g);
}
const mib = (n) => `${(n / 2 ** 20).toFixed(2)} MiB`;
console.log(`${vsixPath}: ${mib(vsixBytes)}, ${files.length} files`);
for (const [key, g] of [...groups].sort((a, b) => b[1].compressed - a[1].compressed)) {
  console.log(`  ${key.padEnd(36)} ${String(g.files).padStart(4)} files  ${mib(g.size).padStart(11)} (${mib(g.compressed)} compressed)`);
}
if (problems.length > 0) {
  console.error(`\n${vsixPath} has ${problems.length} problem(s):`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log('OK: the package holds what the extension needs and nothing it does not.');
