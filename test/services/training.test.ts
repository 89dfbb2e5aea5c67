import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandlers } from '../../src-main/services/api-handlers';
import { clusterProject } from '../../src-main/services/cluster-service';
import { ACTIVE_CHECKPOINT_SETTING, adapterModelId, prepareEmbeddings } from '../../src-main/services/embedding-space';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { trainProject } from '../../src-main/services/train-service';
import { ONNX_MODEL, temporaryFolder, writeSpeciesFolders } from '../helpers/fixtures';

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
  });

  it('runs as a job from the API with epoch events', async () => {
    const handlers = createApiHandlers(project);
    const epochs: number[] = [];
    const unsubscribe = project.jobs.subscribe({ progress: () => {}, finished: () => {}, trainingEpoch: (event) => epochs.push(event.epoch) });
    const { jobId } = await handlers['training:start']({ epochs: 2, tasksPerEpoch: 5, way: 5 });
    const finished = await project.jobs.wait(jobId);
    unsubscribe();
    expect(finished.status).toBe('done');
    expect(finished.message).toMatch(/Fine-tuned on 5 species/);
    expect(epochs).toEqual([1, 2]);
  });
});
