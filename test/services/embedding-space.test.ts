import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backbone } from '../../src-main/core/backbones/backbone';
import {
  ACTIVE_CHECKPOINT_SETTING,
  adapterModelId,
  multiScaleId,
  parseScales,
  prepareEmbeddings,
  SCALES_SETTING,
  scaleAveragedViews,
  ttaModelId,
} from '../../src-main/services/embedding-space';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { trainProject } from '../../src-main/services/train-service';
import { TFJS_MODEL, temporaryFolder, writeSpeciesFolders } from '../helpers/fixtures';

const temporary = temporaryFolder();
let project: Project;

beforeAll(async () => {
  const photos = path.join(temporary.folder, 'photos');
  // 7 "species" x 11 generated photos: enough for training to hold out 2 species for validation.
  await writeSpeciesFolders(photos, 7, 11);
  project = Project.open(path.join(temporary.folder, 'project'), TFJS_MODEL);
  await importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath: (sha) => project.thumbnailPath(sha) });
});

afterAll(async () => {
  await project.close();
  temporary.cleanup();
});

describe('parseScales', () => {
  it('gives unique sizes in ascending order', () => {
    expect(parseScales('320, 224,288,224')).toEqual([224, 288, 320]);
    expect(parseScales('224')).toEqual([224]);
  });

  it('rejects what is not a size in pixels, naming it', () => {
    expect(() => parseScales('224,abc')).toThrow(/"abc"/);
    expect(() => parseScales('224.5')).toThrow(/"224.5"/);
    expect(() => parseScales('16')).toThrow(/32 to 1024/);
    expect(() => parseScales(' , ')).toThrow(/at least one/);
  });
});

describe('multiScaleId', () => {
  const fake = (id: string, size: number) => ({ id, preprocessing: { size } }) as unknown as Backbone;

  it('keeps one backbone\'s own id and names the sizes of several', () => {
    expect(multiScaleId([fake('m-0f20878d253f', 224)])).toBe('m-0f20878d253f');
    expect(multiScaleId([fake('m-0f20878d253f@288', 288)])).toBe('m-0f20878d253f@288');
    expect(multiScaleId([fake('m-0f20878d253f', 224), fake('m-0f20878d253f@288', 288), fake('m-0f20878d253f@320', 320)])).toBe('m-0f20878d253f@224+288+320');
  });
});

describe('scaleAveragedViews', () => {
  it('averages plain and mirrored views over sizes, leaving out photos a size lacks', () => {
    const images = project.store.database.prepare("SELECT id, sha256 FROM images WHERE status = 'ok' ORDER BY id LIMIT 4").all() as { id: number; sha256: string }[];
    const put = (modelId: string, vectors: [number, number][]) =>
      project.store.putEmbeddings(modelId, 2, vectors.map((vector, index) => ({ sha256: images[index]!.sha256, vector: Float32Array.from(vector) })));
    put('fake', [[1, 2], [3, 4], [5, 6], [7, 8]]);
    put('fake#flip', [[3, 2], [1, 4], [5, 2], [7, 0]]);
    put('fake@288', [[5, 0], [1, 0], [1, 2]]); // no embedding for the 4th photo at 288 px
    put('fake@288#flip', [[1, 0], [3, 2]]); // no mirrored view of the 3rd photo at 288 px
    const views = scaleAveragedViews(project.store, ['fake', 'fake@288']);
    expect(views.imageIds).toEqual(images.slice(0, 3).map((image) => image.id));
    expect(views.dims).toBe(2);
    expect(Array.from(views.plain)).toEqual([3, 1, 2, 2, 3, 4]);
    // The 3rd photo's mirrored view is missing at one size, so its plain average stands in for it.
    expect(Array.from(views.mirrored)).toEqual([2, 1, 2, 3, 3, 4]);
  });
});

describe('embedding.scales', () => {
  it('clusters on the mean of mirror-averaged features at each size, and trains on them', async () => {
    const backbone = await project.backbone();
    expect((await prepareEmbeddings(project)).modelId).toBe(ttaModelId(backbone.id));

    project.store.setSetting(SCALES_SETTING, '256,224');
    const featuresId = `${backbone.id}@224+256`;
    const prepared = await prepareEmbeddings(project);
    expect(prepared.modelId).toBe(ttaModelId(featuresId));
    expect(prepared.embedded).toBe(77); // every photo at 256 px; 224 px was cached
    const large = await project.backbone(undefined, { inputSize: 256 });
    expect(large.id).toBe(`${backbone.id}@256`);
    const views = [backbone.id, `${backbone.id}#flip`, large.id, `${large.id}#flip`].map((id) => project.store.embeddingsForImages(id));
    const averaged = project.store.embeddingsForImages(prepared.modelId);
    expect(averaged.imageIds).toHaveLength(77);
    expect(averaged.dims).toBe(1280);
    for (const index of [0, 5, 1279, 77 * 1280 - 1]) {
      const expected = (views[0]!.data[index]! + views[2]!.data[index]! + views[1]!.data[index]! + views[3]!.data[index]!) / 4;
      expect(averaged.data[index]).toBeCloseTo(expected, 5);
    }
    // The 256 px features differ from the 224 px ones: the sizes really are different inputs.
    expect(views[2]!.data.slice(0, 1280)).not.toEqual(views[0]!.data.slice(0, 1280));

    const trained = await trainProject(project, { way: 5, tasksPerEpoch: 5, epochs: 1, seed: 3 });
    expect(trained.embeddingModelId).toBe(adapterModelId(featuresId, trained.checkpointId));
    expect(project.store.checkpoint(trained.checkpointId)?.modelId).toBe(featuresId);
    expect(project.store.setting(ACTIVE_CHECKPOINT_SETTING)).toBe(String(trained.checkpointId));
    expect((await prepareEmbeddings(project)).modelId).toBe(trained.embeddingModelId);

    // The adapter was fitted on features of these sizes only: with the model's own size again, it is not used.
    project.store.setSetting(SCALES_SETTING, '');
    expect((await prepareEmbeddings(project)).modelId).toBe(ttaModelId(backbone.id));
  });
});
