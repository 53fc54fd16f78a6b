// Running test/python/scripts/notebook_driver.py, which executes a notebook with nbclient on an
// ipykernel kernel: shared by the Python suite and the end-to-end suite that watches its run.
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';

export const NOTEBOOK_DRIVER = path.join(__dirname, '..', 'python', 'scripts', 'notebook_driver.py');

/** What the driver's interpreter must import. */
export const NOTEBOOK_MODULES = ['torch', 'numpy', 'nbclient', 'nbformat', 'ipykernel'] as const;

/** Where Jupyter and IPython look and write: folders under `root`, never the user's home. */
export function jupyterEnv(root: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, folder] of [
    ['JUPYTER_PATH', 'share'],
    ['JUPYTER_DATA_DIR', 'data'],
    ['JUPYTER_RUNTIME_DIR', 'runtime'],
    ['JUPYTER_CONFIG_DIR', 'config'],
    ['IPYTHONDIR', 'ipython'],
  ] as const) {
    env[key] = path.join(root, folder);
    mkdirSync(env[key], { recursive: true });
  }
  // debugpy, which ipykernel loads, otherwise warns on every start about frozen modules.
  env.PYDEVD_DISABLE_FILE_VALIDATION = '1';
  return env;
}
