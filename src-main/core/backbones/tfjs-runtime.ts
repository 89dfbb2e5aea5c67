/** Loads @tensorflow/tfjs once per process on the WebAssembly backend, or the pure-JS cpu backend. */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { BackboneRuntime } from './backbone';

/** The TF.js module. */
export type Tf = typeof import('@tensorflow/tfjs');

let backendReady: Promise<{ tf: Tf; runtime: BackboneRuntime }> | undefined;

/**
 * Returns TF.js with its backend set. The backend is global to the process: the first caller chooses it
 * (`wasm`, falling back to `cpu` when WebAssembly cannot start), and later callers share it.
 */
export function readyTf(backend: 'wasm' | 'cpu' = 'wasm'): Promise<{ tf: Tf; runtime: BackboneRuntime }> {
  backendReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    if (backend === 'cpu') {
      await tf.setBackend('cpu');
      return { tf, runtime: 'tfjs-cpu' as const };
    }
    try {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const require = createRequire(import.meta.url);
      const wasmFolder = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(`${wasmFolder}${path.sep}`);
      if (await tf.setBackend('wasm')) return { tf, runtime: 'tfjs-wasm' as const };
    } catch {
      // Fall through to the pure-JS backend below.
    }
    await tf.setBackend('cpu');
    return { tf, runtime: 'tfjs-cpu' as const };
  })();
  return backendReady;
}
