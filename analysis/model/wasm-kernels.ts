import { tf } from '../backend.ts';

interface WasmLikeBackend {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(
    shape: number[],
    dtype: tf.DataType,
    memoryOffset?: number,
    values?: ArrayLike<number>,
  ): tf.TensorInfo;
}

/**
 * The wasm backend lacks `UnsortedSegmentSum`, which the gradient of an embedding lookup
 * (GatherV2) needs. This registers a plain-JS implementation for it; idempotent.
 */
export function registerMissingWasmKernels(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const b = backend as unknown as WasmLikeBackend;
      const x = inputs['x']!;
      const ids = inputs['segmentIds']!;
      const numSegments = Number((attrs as { numSegments: number }).numSegments);
      const xs = b.readSync(x.dataId);
      const seg = b.readSync(ids.dataId);
      const rows = ids.shape.reduce((a, d) => a * d, 1);
      const inner = rows === 0 ? 0 : xs.length / rows;
      const out =
        x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
      for (let i = 0; i < rows; i++) {
        const s = seg[i]!;
        if (s < 0 || s >= numSegments) continue;
        const o = s * inner;
        const xi = i * inner;
        for (let j = 0; j < inner; j++) out[o + j]! += xs[xi + j]!;
      }
      return b.makeOutput([numSegments, ...x.shape.slice(ids.shape.length)], x.dtype, undefined, out);
    },
  });
}
