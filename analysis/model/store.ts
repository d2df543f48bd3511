import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { tf } from '../backend.ts';
import { FEATURE_NAMES } from '../features/vector.ts';
import { FailureModel } from './failure-model.ts';
import { compileNetwork } from './network.ts';

const metaSchema = z.object({
  version: z.string(),
  savedAt: z.string(),
  featureNames: z.array(z.string()),
  config: z.object({
    testBuckets: z.number().int().positive(),
    deviceBuckets: z.number().int().positive(),
    modelBuckets: z.number().int().positive(),
    embeddingDim: z.number().int().positive(),
    hidden: z.number().int().positive(),
    learningRate: z.number().positive(),
    embeddingL2: z.number().nonnegative(),
    dropout: z.number().min(0).max(1),
    seed: z.number().int(),
  }),
  platt: z.object({ a: z.number(), b: z.number() }),
  trainedRows: z.number().int().nonnegative(),
  trainings: z.number().int().nonnegative(),
  /** The linear (wide) part, whose logit is averaged with the network's; absent in older versions. */
  wide: z.object({ weights: z.array(z.number()), bias: z.number(), weight: z.number() }).optional(),
  positiveWeight: z.number().positive().optional(),
  /** Failures in the last fit (null: unknown, an older version; treated as enough). */
  fitPositives: z.number().int().nonnegative().nullable().optional(),
  /** The last fit's held-out comparison with the failure evidence (null: none; absent in older versions). */
  holdout: z
    .object({
      rows: z.number().int().nonnegative(),
      failures: z.number().int().nonnegative(),
      modelAuc: z.number(),
      evidenceAuc: z.number(),
    })
    .nullable()
    .optional(),
});
export type ModelMeta = z.infer<typeof metaSchema>;

const ACTIVE = 'ACTIVE';

/**
 * Saves a model as a new version `vNNNN/` (TF.js layers format: model.json + weights.bin, plus
 * meta.json) under `dir`, and points `dir/ACTIVE` at it unless `activate` is false.
 * Works on every backend: it uses an in-memory save handler rather than `file://`.
 */
export async function saveModelVersion(dir: string, model: FailureModel, activate = true): Promise<string> {
  await mkdir(dir, { recursive: true });
  const existing = (await readdir(dir)).filter((n) => /^v\d{4,}$/.test(n)).sort();
  const last = existing.length ? Number(existing[existing.length - 1]!.slice(1)) : 0;
  const version = `v${String(last + 1).padStart(4, '0')}`;
  const vdir = path.join(dir, version);
  await mkdir(vdir);
  await model.network.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const json = {
        format: 'layers-model',
        generatedBy: 'devlab analysis',
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFile(path.join(vdir, 'model.json'), JSON.stringify(json));
      await writeFile(path.join(vdir, 'weights.bin'), Buffer.from(weights));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    }),
  );
  const meta: ModelMeta = {
    version,
    savedAt: new Date().toISOString(),
    featureNames: [...FEATURE_NAMES],
    config: model.config,
    platt: model.platt,
    trainedRows: model.trainedRows,
    trainings: model.trainings,
    wide: { weights: Array.from(model.wide.weights), bias: model.wide.bias, weight: model.wideWeight },
    positiveWeight: model.positiveWeight,
    fitPositives: Number.isFinite(model.fitPositives) ? model.fitPositives : null,
    // An AUC is NaN when the held-out rows lack failures or passes: nothing was compared.
    holdout:
      model.holdout && Number.isFinite(model.holdout.modelAuc) && Number.isFinite(model.holdout.evidenceAuc)
        ? model.holdout
        : null,
  };
  await writeFile(path.join(vdir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  if (activate) await setActiveVersion(dir, version);
  return version;
}

export async function setActiveVersion(dir: string, version: string): Promise<void> {
  await readFile(path.join(dir, version, 'meta.json')).catch(() => {
    throw new Error(`${path.join(dir, version)}: no such model version`);
  });
  await writeFile(path.join(dir, ACTIVE), `${version}\n`);
}

export async function activeVersion(dir: string): Promise<string | null> {
  try {
    return (await readFile(path.join(dir, ACTIVE), 'utf8')).trim() || null;
  } catch {
    return null;
  }
}

/** Loads `version` (default: the active one) from `dir`. */
export async function loadModelVersion(dir: string, version?: string): Promise<FailureModel> {
  const v = version ?? (await activeVersion(dir));
  if (!v) throw new Error(`${dir}: no active model version (missing ${ACTIVE} file)`);
  const vdir = path.join(dir, v);
  const metaRaw = JSON.parse(await readFile(path.join(vdir, 'meta.json'), 'utf8')) as unknown;
  const parsed = metaSchema.safeParse(metaRaw);
  if (!parsed.success) throw new Error(`${path.join(vdir, 'meta.json')}: ${parsed.error.issues[0]?.message}`);
  const meta = parsed.data;
  if (meta.featureNames.join(',') !== FEATURE_NAMES.join(','))
    throw new Error(`${vdir}: saved with different features; retrain the model`);
  const json = JSON.parse(await readFile(path.join(vdir, 'model.json'), 'utf8')) as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const bin = await readFile(path.join(vdir, 'weights.bin'));
  const weightData = bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength);
  const network = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
      weightData,
    }),
  );
  compileNetwork(network, meta.config.learningRate);
  const model = new FailureModel(network, meta.config, meta.platt);
  model.trainedRows = meta.trainedRows;
  model.trainings = meta.trainings;
  if (meta.wide && meta.wide.weights.length === model.wide.weights.length) {
    model.wide.weights.set(meta.wide.weights);
    model.wide.bias = meta.wide.bias;
    model.wideWeight = meta.wide.weight;
  } else {
    // An older version, saved without its linear part: the network alone (approximate, as its calibration
    // was fitted on the average, but far closer than averaging with an untrained linear part).
    model.wideWeight = 0;
  }
  if (meta.positiveWeight !== undefined) model.positiveWeight = meta.positiveWeight;
  if (typeof meta.fitPositives === 'number') model.fitPositives = meta.fitPositives;
  model.holdout = meta.holdout ?? null;
  return model;
}
