import { tf } from '../backend.ts';
import { FEATURE_COUNT } from '../features/vector.ts';
import { registerMissingWasmKernels } from './wasm-kernels.ts';

registerMissingWasmKernels();

export interface NetworkConfig {
  testBuckets: number;
  deviceBuckets: number;
  modelBuckets: number;
  embeddingDim: number;
  hidden: number;
  learningRate: number;
  /** L2 penalty on the embeddings: keeps per-id memorisation from overriding the history features. */
  embeddingL2: number;
  dropout: number;
  seed: number;
}

export const DEFAULT_NETWORK: NetworkConfig = {
  testBuckets: 4096,
  deviceBuckets: 1024,
  modelBuckets: 256,
  embeddingDim: 4,
  hidden: 8,
  learningRate: 0.02,
  embeddingL2: 0.05,
  dropout: 0.1,
  seed: 7,
};

/**
 * Wide-and-deep network with a factorization-style interaction:
 * - embeddings of the hashed test, device and device-model ids;
 * - deep part: embeddings + dense features -> relu(hidden) -> relu(hidden/2);
 * - interactions: dot(test, device) and dot(test, model) embeddings (an FM term);
 * - wide part: the dense features go straight into the output unit with the deep part and the
 *   interactions; sigmoid output.
 */
export function buildNetwork(cfg: NetworkConfig): tf.LayersModel {
  const seed = cfg.seed;
  const emb = (name: string, buckets: number, s: number) =>
    tf.layers.embedding({
      name,
      inputDim: buckets,
      outputDim: cfg.embeddingDim,
      embeddingsInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: seed + s }),
      embeddingsRegularizer: tf.regularizers.l2({ l2: cfg.embeddingL2 }),
    });
  const testIn = tf.input({ shape: [1], dtype: 'int32', name: 'test' });
  const deviceIn = tf.input({ shape: [1], dtype: 'int32', name: 'device' });
  const modelIn = tf.input({ shape: [1], dtype: 'int32', name: 'model' });
  const denseIn = tf.input({ shape: [FEATURE_COUNT], name: 'dense' });
  const flat = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.flatten({ name }).apply(x) as tf.SymbolicTensor;
  const eTest = flat(emb('test_emb', cfg.testBuckets, 1).apply(testIn) as tf.SymbolicTensor, 'test_flat');
  const eDevice = flat(
    emb('device_emb', cfg.deviceBuckets, 2).apply(deviceIn) as tf.SymbolicTensor,
    'device_flat',
  );
  const eModel = flat(
    emb('model_emb', cfg.modelBuckets, 3).apply(modelIn) as tf.SymbolicTensor,
    'model_flat',
  );
  const fmTD = tf.layers
    .dot({ axes: 1, name: 'fm_test_device' })
    .apply([eTest, eDevice]) as tf.SymbolicTensor;
  const fmTM = tf.layers.dot({ axes: 1, name: 'fm_test_model' }).apply([eTest, eModel]) as tf.SymbolicTensor;
  const deepIn = tf.layers.concatenate({ name: 'deep_in' }).apply([eTest, eDevice, eModel, denseIn]);
  const h1 = tf.layers
    .dense({
      units: cfg.hidden,
      activation: 'relu',
      name: 'deep1',
      kernelInitializer: tf.initializers.heNormal({ seed: seed + 4 }),
    })
    .apply(deepIn) as tf.SymbolicTensor;
  const h1d = tf.layers.dropout({ rate: cfg.dropout, name: 'deep1_dropout', seed: seed + 7 }).apply(h1);
  const h2 = tf.layers
    .dense({
      units: Math.max(4, cfg.hidden / 2),
      activation: 'relu',
      name: 'deep2',
      kernelInitializer: tf.initializers.heNormal({ seed: seed + 5 }),
    })
    .apply(h1d) as tf.SymbolicTensor;
  const joined = tf.layers.concatenate({ name: 'wide_deep' }).apply([denseIn, fmTD, fmTM, h2]);
  const out = tf.layers
    .dense({
      units: 1,
      activation: 'sigmoid',
      name: 'out',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 6 }),
      biasInitializer: tf.initializers.constant({ value: -3 }),
    })
    .apply(joined) as tf.SymbolicTensor;
  const model = tf.model({
    inputs: [testIn, deviceIn, modelIn, denseIn],
    outputs: out,
    name: 'devlab_failure',
  });
  compileNetwork(model, cfg.learningRate);
  return model;
}

export function compileNetwork(model: tf.LayersModel, learningRate: number): void {
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'binaryCrossentropy' });
}
