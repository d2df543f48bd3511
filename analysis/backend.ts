import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  /** Why this backend was chosen over the faster ones. */
  note: string;
}

const require = createRequire(import.meta.url);
let chosen: Promise<BackendInfo> | null = null;

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

async function tryTfjsNode(): Promise<string | null> {
  if (!isInstalled('@tensorflow/tfjs-node')) return '@tensorflow/tfjs-node is not installed';
  try {
    await import('@tensorflow/tfjs-node' as string);
    if (await tf.setBackend('tensorflow')) return null;
    return 'tfjs-node loaded but its backend did not initialise';
  } catch (err) {
    return `tfjs-node failed to load: ${(err as Error).message}`;
  }
}

async function tryWasm(): Promise<string | null> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(`${path.join(dir, 'dist')}/`);
    if (await tf.setBackend('wasm')) return null;
    return 'the wasm backend did not initialise';
  } catch (err) {
    return `the wasm backend failed: ${(err as Error).message}`;
  }
}

/** The order devlab tries: native TensorFlow when installed, else WebAssembly, else plain JS. */
async function choose(): Promise<BackendInfo> {
  const nodeWhyNot = await tryTfjsNode();
  if (!nodeWhyNot) return { name: 'tensorflow', note: 'native libtensorflow through @tensorflow/tfjs-node' };
  const wasmWhyNot = await tryWasm();
  if (!wasmWhyNot) return { name: 'wasm', note: nodeWhyNot };
  await tf.setBackend('cpu');
  return { name: 'cpu', note: `${nodeWhyNot}; ${wasmWhyNot}` };
}

/** Selects the fastest available TF.js backend once per process and says which one it is. */
export function initBackend(): Promise<BackendInfo> {
  chosen ??= choose().then(async (info) => {
    await tf.ready();
    return info;
  });
  return chosen;
}

export { tf };
