import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandlers } from '../../src-main/services/api-handlers';
import { clusterProject } from '../../src-main/services/cluster-service';
import { decodeAdapter, encodeAdapter } from '../../src-main/core/training/adapter';
import { ACTIVE_CHECKPOINT_SETTING, adapterModelId, prepareEmbeddings, SCALES_SETTING } from '../../src-main/services/embedding-space';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { trainProject } from '../../src-main/services/train-service';
import { ONNX_MODEL, TFJS_MODEL, temporaryFolder, writeSpeciesFolders } from '../helpers/fixtures';

const temporary = temporaryFolder();
let project: Project;

beforeAll(async () => {
  const photos = path.join(temporary.folder, 'photos');
  // 7 "species" x 11 generated photos: enough to hold out 2 species for validation.
  await writeSpeciesFolders(photos, 7, 11);
  project = Project.open(path.join(temporary.folder, 'project'), ONNX_MODEL);
  await importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath: (sha) => project.thumbnailPath(sha) });
});

afterAll(async () => {
  await project.close();
  temporary.cleanup();
});

describe('trainProject', () => {
  it('holds out validation species, stores the checkpoint and makes clustering use the adapter', async () => {
    const epochs: number[] = [];
    const result = await trainProject(project, { way: 5, tasksPerEpoch: 10, epochs: 2, seed: 3, onEpoch: (record) => epochs.push(record.epoch) });
    expect(epochs).toEqual([1, 2]);
    expect(result.validationSpecies).toHaveLength(2);
    expect(result.trainSpecies).toHaveLength(5);
    expect(result.trainSpecies.some((name) => result.validationSpecies.includes(name))).toBe(false);
    expect(project.store.setting(ACTIVE_CHECKPOINT_SETTING)).toBe(String(result.checkpointId));
    const backbone = await project.backbone();
    expect(result.embeddingModelId).toBe(adapterModelId(backbone.id, result.checkpointId));
    const prepared = await prepareEmbeddings(project);
    expect(prepared.modelId).toBe(result.embeddingModelId);
    const embedded = project.store.embeddingsForImages(prepared.modelId);
    expect(embedded.imageIds).toHaveLength(77);
    // Whitening keeps at most samples - species dimensions: 2 views x 55 training photos - 5 species.
    expect(embedded.dims).toBe(105);
    const { metrics } = await clusterProject(project.store, prepared.modelId, { method: 'kmeans', k: 7, seed: 0, restarts: 2 });
    expect(metrics?.count).toBe(77);
  });

  it('refuses what it cannot train, saying what to use instead', async () => {
    await expect(trainProject(project, { trainable: 'all' })).rejects.toThrow(/Use --trainable head/);
    // The ONNX classifier has no convertible last block.
    await expect(trainProject(project, { trainable: 'last-blocks' })).rejects.toThrow(/TF\.js layers model.*--trainable head/);
  });

  it('fine-tunes the last block of a TF.js model, keeping it only when validation prefers it', async () => {
    const tfjs = Project.open(path.join(temporary.folder, 'tfjs-project'), TFJS_MODEL);
    try {
      // A copy of the photos, one of which is spoiled after the import: its decode fails during training.
      const photos = path.join(temporary.folder, 'tfjs-photos');
      cpSync(path.join(temporary.folder, 'photos'), photos, { recursive: true });
      await importFolder(tfjs.store, photos, { labelsFromFolders: true, thumbnailPath: (sha) => tfjs.thumbnailPath(sha) });
      writeFileSync(path.join(photos, 'species 0', '0.jpg'), 'not a photo any more');
      tfjs.store.setSetting(SCALES_SETTING, '64,96');
      const stages: string[] = [];
      // Cancelled as the block's stage ends (before the adapter's): the resumed run keeps the trained block.
      const controller = new AbortController();
      await expect(
        trainProject(tfjs, {
          trainable: 'last-blocks',
          way: 5,
          tasksPerEpoch: 5,
          blockTasksPerEpoch: 6,
          epochs: 2,
          seed: 1,
          signal: controller.signal,
          onEpoch: (record) => {
            stages.push(`${record.stage} ${record.epoch}`);
            if (record.epoch === 2) controller.abort();
          },
        }),
      ).rejects.toThrow(/Cancelled/);
      expect(stages).toEqual(['last-block 1', 'last-block 2']);
      expect(tfjs.store.stoppedTrainingRun()).toMatchObject({ stage: 'adapter', epoch: 0 });
      stages.length = 0;
      const result = await trainProject(tfjs, { resume: true, onEpoch: (record) => stages.push(`${record.stage} ${record.epoch}`) });
      // The block's epochs are sent again for the curves; the adapter starts from its first epoch.
      expect(stages).toEqual(['last-block 1', 'last-block 2', 'adapter 1', 'adapter 2']);
      expect(result.blockHistory).toHaveLength(2);
      expect(result.blockHistory.every((record) => Number.isFinite(record.loss) && record.validationCa > 0)).toBe(true);
      // Block inputs were embedded at both sizes, plain and mirrored, for the 76 readable labeled photos.
      const backbone = await tfjs.backbone(undefined, { inputSize: 96, lastBlock: 'input' });
      expect(tfjs.store.embeddingsForImages(`${backbone.id}#flip`).imageIds).toHaveLength(76);
      // These noise "species" cannot be learned, so validation may keep the pretrained block (epoch 0).
      const weights = decodeAdapter(tfjs.store.checkpoint(result.checkpointId)!.weights);
      expect(weights.lastBlock !== undefined).toBe(result.blockEpoch! > 0);
      // The whitening at the chain's start works on the features' square roots.
      let first = weights;
      while (first.before) first = first.before;
      expect(first.inputPower).toBe(0.5);
      const prepared = await prepareEmbeddings(tfjs);
      expect(prepared.modelId).toBe(result.embeddingModelId);
      expect(tfjs.store.embeddingsForImages(prepared.modelId).imageIds).toHaveLength(76);
    } finally {
      await tfjs.close();
    }
  });

  it('embeds every photo with the fine-tuned block of the active checkpoint', async () => {
    const tfjs = Project.open(path.join(temporary.folder, 'tfjs-project-2'), TFJS_MODEL);
    try {
      await importFolder(tfjs.store, path.join(temporary.folder, 'photos'), { labelsFromFolders: true, thumbnailPath: (sha) => tfjs.thumbnailPath(sha) });
      tfjs.store.setSetting(SCALES_SETTING, '64,96');
      const { readTfjsArtifacts } = await import('../../src-main/core/backbones/tfjs-artifacts');
      const { findLastBlock } = await import('../../src-main/core/backbones/tfjs-to-onnx');
      const block = findLastBlock(await readTfjsArtifacts(path.join(TFJS_MODEL, 'model.json')));
      const lastBlock = { ...block, bias: block.bias.map((value) => value + 0.25) };
      const backbones = await Promise.all([64, 96].map((inputSize) => tfjs.backbone(undefined, { inputSize, lastBlock })));
      const featuresId = `${backbones[0]!.id.replace(/@\d+$/, '')}@64+96`;
      expect(featuresId).toMatch(/~block-[0-9a-f]{12}@64\+96$/);
      const identity = { inputDims: 1280, hiddenDims: 0, outputDims: 1280, inputMean: new Float32Array(1280), inputScale: 1, residual: true, w1: new Float32Array(1280 * 1280), b1: new Float32Array(1280), w2: new Float32Array(0), b2: new Float32Array(0) };
      const checkpointId = tfjs.store.saveCheckpoint({ modelId: featuresId, options: {}, history: [], bestEpoch: 1, weights: encodeAdapter({ ...identity, lastBlock }) });
      tfjs.store.setSetting(ACTIVE_CHECKPOINT_SETTING, String(checkpointId));
      const prepared = await prepareEmbeddings(tfjs);
      expect(prepared.modelId).toBe(adapterModelId(featuresId, checkpointId));
      const embedded = tfjs.store.embeddingsForImages(prepared.modelId);
      expect(embedded.imageIds).toHaveLength(77);
      // The identity adapter passes the block's features through: the mirror-averaged mean over both sizes.
      const plain = backbones.map((backbone) => tfjs.store.embeddingsForImages(backbone.id));
      const mirrored = backbones.map((backbone) => tfjs.store.embeddingsForImages(`${backbone.id}#flip`));
      for (const index of [0, 500, 1279]) {
        const expected = (plain[0]!.data[index]! + plain[1]!.data[index]! + mirrored[0]!.data[index]! + mirrored[1]!.data[index]!) / 4;
        expect(embedded.data[index]).toBeCloseTo(expected, 4);
      }
    } finally {
      await tfjs.close();
    }
  });

  it('runs as a job from the API with epoch events', async () => {
    const handlers = createApiHandlers(project);
    const epochs: string[] = [];
    const unsubscribe = project.jobs.subscribe({ progress: () => {}, finished: () => {}, trainingEpoch: (event) => epochs.push(`${event.stage} ${event.epoch}`) });
    const { jobId } = await handlers['training:start']({ epochs: 2, tasksPerEpoch: 5, way: 5 });
    const finished = await project.jobs.wait(jobId);
    unsubscribe();
    expect(finished.status).toBe('done');
    expect(finished.message).toMatch(/Fine-tuned on 5 species/);
    expect(epochs).toEqual(['adapter 1', 'adapter 2']);
  });

  it('resumes a cancelled run from its last finished epoch and ends as the uninterrupted run', async () => {
    const settings = { way: 5, tasksPerEpoch: 6, epochs: 3, seed: 8 };
    const whole = await trainProject(project, settings);
    const wholeWeights = project.store.checkpoint(whole.checkpointId)!.weights;
    const handlers = createApiHandlers(project);
    expect((await handlers['project:info']({})).stoppedTraining).toBeNull();

    const controller = new AbortController();
    await expect(
      trainProject(project, { ...settings, signal: controller.signal, onEpoch: (record) => record.epoch === 2 && controller.abort() }),
    ).rejects.toThrow(/Cancelled/);
    expect((await handlers['project:info']({})).stoppedTraining).toMatchObject({ trainable: 'head', stage: 'adapter', epoch: 2, epochs: 3 });

    // The other settings given with `resume` are ignored: the run goes on with its own.
    const seen: number[] = [];
    const resumed = await trainProject(project, { resume: true, epochs: 7, onEpoch: (record) => seen.push(record.epoch) });
    expect(seen).toEqual([1, 2, 3]);
    const withoutTimes = (history: { seconds: number }[]) => history.map(({ seconds: _seconds, ...record }) => record);
    expect(withoutTimes(resumed.history)).toEqual(withoutTimes(whole.history));
    expect(resumed.bestEpoch).toBe(whole.bestEpoch);
    expect(Buffer.compare(project.store.checkpoint(resumed.checkpointId)!.weights, wholeWeights)).toBe(0);
    expect(project.store.setting(ACTIVE_CHECKPOINT_SETTING)).toBe(String(resumed.checkpointId));
    // A finished run is forgotten.
    expect((await handlers['project:info']({})).stoppedTraining).toBeNull();
    await expect(trainProject(project, { resume: true })).rejects.toThrow(/no stopped training run to resume; start a new one/);
  });

  it('refuses to resume a run whose labels changed, and resumes from the API as a job', async () => {
    const controller = new AbortController();
    const settings = { way: 5, tasksPerEpoch: 5, epochs: 2, seed: 2 };
    await expect(trainProject(project, { ...settings, signal: controller.signal, onEpoch: () => controller.abort() })).rejects.toThrow(/Cancelled/);
    const [image] = project.store.labeledImages();
    const { species } = image!;
    project.store.clearLabels([image!.imageId]);
    await expect(trainProject(project, { resume: true })).rejects.toThrow(/labels, the model or the input sizes changed.*Start a new training run/);
    project.store.setLabels([{ imageId: image!.imageId, species }], 'user');

    const handlers = createApiHandlers(project);
    const epochs: string[] = [];
    const unsubscribe = project.jobs.subscribe({ progress: () => {}, finished: () => {}, trainingEpoch: (event) => epochs.push(`${event.stage} ${event.epoch}`) });
    const { jobId } = await handlers['training:resume']({});
    const finished = await project.jobs.wait(jobId);
    unsubscribe();
    expect(finished.status).toBe('done');
    // The epoch done before the cancel is sent again for the curves, then the one left.
    expect(epochs).toEqual(['adapter 1', 'adapter 2']);
  });

  it('cross-validates over 4 or 5 species, 2 held out at a time, to choose the epochs, and resumes without doing it again', async () => {
    const photos = path.join(temporary.folder, 'five-species');
    await writeSpeciesFolders(photos, 5, 11);
    const five = Project.open(path.join(temporary.folder, 'five-project'), ONNX_MODEL);
    try {
      await importFolder(five.store, photos, { labelsFromFolders: true, thumbnailPath: (sha) => five.thumbnailPath(sha) });
      // Seed 0: the folds choose all 3 epochs, so the final run can be stopped after its first.
      const settings = { way: 3, tasksPerEpoch: 20, epochs: 3, seed: 0 };
      const seen: number[] = [];
      const whole = await trainProject(five, { ...settings, onEpoch: (record) => seen.push(record.validationCa) });
      expect(whole.validationSpecies).toEqual([]);
      expect(whole.trainSpecies).toHaveLength(5);
      expect(whole.crossValidationFolds).toBe(2);
      // The final run trains the chosen number of epochs; each shows the folds' mean validation CA.
      expect(whole.bestEpoch).toBe(3);
      expect(whole.history).toHaveLength(3);
      expect(seen).toEqual(whole.history.map((record) => record.validationCa));
      expect(seen.every((value) => value > 0 && value <= 1)).toBe(true);
      const stored = five.store.checkpoint(whole.checkpointId)!;
      expect(stored.history).toHaveLength(whole.history.length);

      // Cancelled after the final run's first epoch (the folds' outcome is stored with the run): the resume
      // trains no fold again, shows the first epoch with its folds' mean CA, and ends the same.
      const controller = new AbortController();
      await expect(trainProject(five, { ...settings, signal: controller.signal, onEpoch: () => controller.abort() })).rejects.toThrow(/Cancelled/);
      expect(five.store.stoppedTrainingRun()!.split.crossValidation).toMatchObject({ folds: 2, epochs: 3 });
      const foldEpochs: number[] = [];
      const shown: number[] = [];
      const resumed = await trainProject(five, {
        resume: true,
        onProgress: (report) => report.fraction < 0.5 && /^Epoch/.test(report.message) && foldEpochs.push(report.fraction),
        onEpoch: (record) => shown.push(record.validationCa),
      });
      expect(foldEpochs, 'no fold is trained again').toEqual([]);
      expect(shown).toEqual(seen);
      expect(resumed.history.map(({ seconds: _seconds, ...record }) => record)).toEqual(whole.history.map(({ seconds: _seconds, ...record }) => record));
      expect(Buffer.compare(five.store.checkpoint(resumed.checkpointId)!.weights, stored.weights)).toBe(0);
    } finally {
      await five.close();
    }
  });
});
