import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../../analysis/backend.ts';

describe('TensorFlow.js', () => {
  it('selects the wasm backend here (tfjs-node is not installable) and trains a tiny model on it', async () => {
    const info = await initBackend();
    expect(['tensorflow', 'wasm']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    const model = tf.sequential({
      layers: [tf.layers.dense({ units: 1, inputShape: [2], activation: 'sigmoid' })],
    });
    model.compile({ optimizer: tf.train.adam(0.1), loss: 'binaryCrossentropy' });
    // OR: fails when either input is set; linearly separable, so a single unit learns it.
    const x = tf.tensor2d([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tf.tensor2d([[0], [1], [1], [1]]);
    const history = await model.fit(x, y, { epochs: 150, verbose: 0 });
    const losses = history.history['loss'] as number[];
    const predictions = Array.from((model.predict(x) as tf.Tensor).dataSync());
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 3);
    expect(predictions[0]).toBeLessThan(0.5);
    expect(Math.min(...predictions.slice(1))).toBeGreaterThan(0.5);
    tf.dispose([x, y]);
    model.dispose();
  });
});
