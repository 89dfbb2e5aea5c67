import { writeFileSync, mkdirSync, readdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src-main/core/export/csv';
import { createApiHandlers } from '../../src-main/services/api-handlers';
import { clusterProject } from '../../src-main/services/cluster-service';
import { embedMissing } from '../../src-main/services/embed-service';
import { buildImageCsv, IMAGE_CSV_COLUMNS } from '../../src-main/services/export-service';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { prepareEmbeddings, TTA_SETTING, ttaModelId } from '../../src-main/services/embedding-space';
import { ONNX_MODEL, SHARED, temporaryFolder, writeJpeg } from '../helpers/fixtures';

const temporary = temporaryFolder();
let project: Project;
const photos = path.join(temporary.folder, 'photos');

beforeAll(async () => {
  // 130 generated JPEGs in two "species" folders (more than one write batch), plus bad files.
  for (const species of ['alpha species', 'beta,species']) mkdirSync(path.join(photos, species), { recursive: true });
  for (let index = 0; index < 130; index++) {
    await writeJpeg(path.join(photos, index % 2 ? 'alpha species' : 'beta,species', `img ${index}.jpg`), index);
  }
  writeFileSync(path.join(photos, 'alpha species', 'empty.jpg'), '');
  writeFileSync(path.join(photos, 'alpha species', 'notes.jpg'), 'this is text, not a JPEG');
  mkdirSync(path.join(photos, '_meta'));
  await writeJpeg(path.join(photos, '_meta', 'skipped.jpg'), 1);
  project = Project.open(path.join(temporary.folder, 'project'), ONNX_MODEL);
});

afterAll(async () => {
  await project.close();
  temporary.cleanup();
});

describe('import', () => {
  it('imports every readable photo, reports each bad one with a reason, and labels from folders', async () => {
    const progress: number[] = [];
    const summary = await importFolder(project.store, photos, {
      labelsFromFolders: true,
      thumbnailPath: (sha256) => project.thumbnailPath(sha256),
      onProgress: (p) => progress.push(p.fraction),
    });
    expect(summary.imported).toBe(130);
    expect(summary.failed).toBe(2);
    expect(summary.errors.map((error) => [path.basename(error.path), error.reason])).toEqual(
      expect.arrayContaining([
        ['empty.jpg', 'The file is empty (0 bytes).'],
        ['notes.jpg', expect.stringMatching(/not an image file/)],
      ]),
    );
    expect(project.store.counts()).toEqual({ imageCount: 132, failedCount: 2, labeledCount: 132, speciesCount: 2 });
    expect(progress.at(-1)).toBe(1);
    expect(readdirSync(path.join(project.folder, 'thumbnails'))).toHaveLength(130);
  });

  it('re-importing the same folder does not duplicate images', async () => {
    await importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath: (sha) => project.thumbnailPath(sha) });
    expect(project.store.counts().imageCount).toBe(132);
  });

  it('says what to do when the folder does not exist', async () => {
    await expect(
      importFolder(project.store, path.join(temporary.folder, 'missing'), { labelsFromFolders: false, thumbnailPath: (s) => s }),
    ).rejects.toThrow(/Folder not found/);
  });
});

describe('embed, cluster, export', () => {
  it('embeds once per content hash and reuses the cache', async () => {
    const backbone = await project.backbone();
    const first = await embedMissing(project.store, backbone, { batchSize: 16 });
    expect(first).toMatchObject({ embedded: 130, failed: 0, runtime: 'onnxruntime-cpu' });
    // A copy of a photo under another name has the same content: no new embedding.
    copyFileSync(path.join(photos, 'alpha species', 'img 1.jpg'), path.join(photos, 'alpha species', 'copy.jpg'));
    await importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath: (sha) => project.thumbnailPath(sha) });
    const second = await embedMissing(project.store, backbone);
    expect(second.embedded).toBe(0);
    expect(project.store.embeddedCount(backbone.id)).toBe(131);
  });

  it('clusters, scores against folder labels, and exports an RFC 4180 CSV', async () => {
    const backbone = await project.backbone();
    const { runId, metrics } = await clusterProject(project.store, backbone.id, { method: 'kmeans', k: 2, seed: 3, restarts: 2 });
    expect(metrics?.count).toBe(131);
    expect(metrics!.ca).toBeGreaterThanOrEqual(0.5);
    project.store.renameCluster(runId, 1, 'Noctua "pronuba", dark');
    const { csv, rows } = buildImageCsv(project.store);
    expect(rows).toBe(133);
    const parsed = parseCsv(csv);
    expect(parsed[0]).toEqual([...IMAGE_CSV_COLUMNS]);
    expect(parsed).toHaveLength(134);
    const byName = new Map(parsed.slice(1).map((row) => [row[1], row]));
    const broken = byName.get('notes.jpg')!;
    expect(broken[3]).toBe('');
    expect(broken[8]).toBe('error');
    const renamed = parsed.slice(1).find((row) => row[3] === '1')!;
    expect(renamed[4]).toBe('Noctua "pronuba", dark');
    const beta = byName.get('img 0.jpg')!;
    expect(beta[6]).toBe('beta,species');
    expect(beta[7]).toBe('folder');
    expect(Number(beta[5])).toBeGreaterThan(0);
  });

  it('clusters spectrally, with distances to each cluster mean', async () => {
    const backbone = await project.backbone();
    const { runId, metrics } = await clusterProject(project.store, backbone.id, { method: 'spectral', k: 2, seed: 1 });
    expect(project.store.run(runId)?.method).toBe('spectral');
    expect(metrics?.count).toBe(131);
    const members = project.store.clusterMembers(runId);
    expect([...members.keys()].sort()).toEqual([1, 2]);
    for (const list of members.values()) for (const member of list) expect(member.distance).toBeGreaterThan(0);
  });

  it('seeds clusters with the labeled species and proposes the rest as new species', async () => {
    const backbone = await project.backbone();
    const { runId, clusterCount } = await clusterProject(project.store, backbone.id, { method: 'seeded', k: 3, seed: 0 });
    expect(clusterCount).toBe(3);
    const names = project.store.clusterNames(runId);
    expect([names.get(1), names.get(2), names.get(3)]).toEqual(['alpha species', 'beta,species', 'Candidate new species 1']);
    // Labeled images stay in their species' cluster.
    const labeled = project.store.labeledAssignments(runId);
    expect(labeled.every(({ species, clusterId }) => names.get(clusterId) === species)).toBe(true);
  });

  it('rejects a number of clusters larger than the photos, saying the limit', async () => {
    const backbone = await project.backbone();
    await expect(clusterProject(project.store, backbone.id, { method: 'kmeans', k: 500, seed: 0 })).rejects.toThrow(/at most 131/);
  });
});

describe('test-time augmentation', () => {
  it('clusters mirror-averaged features by default, and plain features when turned off', async () => {
    const backbone = await project.backbone();
    const averaged = await prepareEmbeddings(project);
    expect(averaged.modelId).toBe(ttaModelId(backbone.id));
    const plain = project.store.embeddingsForImages(backbone.id);
    const mirrored = project.store.embeddingsForImages(`${backbone.id}#flip`);
    const both = project.store.embeddingsForImages(averaged.modelId);
    expect(both.imageIds).toEqual(plain.imageIds);
    expect(both.data[0]).toBeCloseTo((plain.data[0]! + mirrored.data[0]!) / 2, 5);
    project.store.setSetting(TTA_SETTING, 'off');
    expect((await prepareEmbeddings(project)).modelId).toBe(backbone.id);
    project.store.setSetting(TTA_SETTING, 'on');
  });
});

describe('API handlers and jobs', () => {
  it('runs clustering as a job with progress, then serves cards and renames', async () => {
    const handlers = createApiHandlers(project);
    const events: string[] = [];
    const unsubscribe = project.jobs.subscribe({ progress: (e) => events.push(e.kind), finished: (e) => events.push(e.status) });
    const { jobId } = await handlers['clusters:run']({ method: 'kmeans', k: 3, seed: 1 });
    await expect(handlers['clusters:run']({ method: 'kmeans', k: 3 })).rejects.toThrow(/Another job is running/);
    const finished = await project.jobs.wait(jobId);
    unsubscribe();
    expect(finished.status).toBe('done');
    expect(events.at(-1)).toBe('done');
    const { run, clusters } = await handlers['clusters:latest']({});
    expect(run?.k).toBe(3);
    expect(clusters.reduce((sum, card) => sum + card.size, 0)).toBe(131);
    for (const card of clusters) {
      expect(card.imageIds.length).toBe(Math.min(12, card.size));
      expect(card.outlierIds.length).toBe(Math.min(4, Math.max(0, card.size - 12)));
      expect(card.outlierIds.some((id) => card.imageIds.includes(id))).toBe(false);
    }
    await handlers['clusters:rename']({ runId: run!.id, clusterId: clusters[0]!.clusterId, name: 'Geometridae' });
    expect((await handlers['clusters:latest']({})).clusters[0]!.name).toBe('Geometridae');
    const suggestion = await handlers['clusters:suggest-k']({ maxK: 10 });
    expect(suggestion.images).toBe(131);
    expect(suggestion.k).toBeGreaterThanOrEqual(2);
    expect(suggestion.k).toBeLessThanOrEqual(10);
    expect(suggestion.criterion).toBe('eigengap');
    expect(suggestion.values).toEqual([...suggestion.values].sort((a, b) => a - b));
    expect(suggestion.ks).toEqual(suggestion.values.map((_, index) => index + 1));
    for (const criterion of ['silhouette', 'stability'] as const) {
      const other = await handlers['clusters:suggest-k']({ maxK: 6, criterion });
      expect(other).toMatchObject({ criterion, images: 131, ks: [2, 3, 4, 5, 6] });
      expect(other.values).toHaveLength(5);
      expect(other.values[other.ks.indexOf(other.k)]).toBe(Math.max(...other.values));
    }
    const exported = await handlers['export:csv']({});
    expect(exported.csv).toContain('Geometridae');
  });

  it('cancels a running job and keeps finished work', async () => {
    const handlers = createApiHandlers(project);
    const { jobId } = await handlers['import:start']({ folder: path.join(SHARED, 'data', 'eu_moths'), labelsFromFolders: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await handlers['jobs:cancel']({ jobId })).cancelled).toBe(true);
    const finished = await project.jobs.wait(jobId);
    expect(finished.status).toBe('cancelled');
    const row = project.store.database.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(jobId);
    expect(row).toBe('cancelled');
    expect(project.store.counts().imageCount).toBeGreaterThan(133);
    expect(project.store.counts().imageCount).toBeLessThan(133 + 2205);
  });
});
