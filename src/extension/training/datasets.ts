// Whether a folder holds the CIFAR-10 batches Train Model trains on (finding MNIST and reading the
// cnnslicer.cifar10Path setting are shared with Analyze Model, in ../datasets.ts). No `vscode`
// import: unit-tested.
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';

export const CIFAR_BATCHES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'] as const;
/** A standard batch: 10,000 records of a label byte and 3×32×32 pixel bytes. */
export const CIFAR_BATCH_BYTES = 10_000 * 3073;

/**
 * Undefined when `dir` holds the six standard CIFAR-10 binary batches at their standard size;
 * otherwise what is wrong, naming the folder or file. Only sizes are checked here, which is
 * instant; the trainer checks the records themselves (python/cnnslicer/train.py).
 */
export function checkCifarFolder(dir: string): string | undefined {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    return `${dir} does not exist`;
  }
  if (!isDir) return `${dir} is not a folder`;
  const missing = CIFAR_BATCHES.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    return `${dir} is not a CIFAR-10 binary folder: ${missing.join(', ')} missing. Choose the folder cifar-10-batches-bin of the binary version (cifar-10-binary.tar.gz).`;
  }
  for (const f of CIFAR_BATCHES) {
    const size = statSync(path.join(dir, f)).size;
    if (size !== CIFAR_BATCH_BYTES) {
      return `${path.join(dir, f)} is ${size.toLocaleString('en-US')} bytes; a CIFAR-10 binary batch is ${CIFAR_BATCH_BYTES.toLocaleString('en-US')} (10,000 records of 3,073 bytes). The file is truncated or not a CIFAR-10 batch.`;
    }
  }
  return undefined;
}
