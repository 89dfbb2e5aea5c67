import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelledError } from '../../src-main/core/util/progress';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { runInWorker } from '../../src-main/services/worker-host';
import { ONNX_MODEL, temporaryFolder, writeJpeg } from '../helpers/fixtures';

const temporary = temporaryFolder();
const root = path.resolve(__dirname, '..', '..');
// Inside the repository, so that the bundle's external packages resolve from node_modules.
const script = path.join(root, 'out', 'test-worker', 'job-worker.js');
let project: Project;

beforeAll(async () => {
  await build({
    entryPoints: [path.join(root, 'src-main', 'services', 'job-worker.ts')],
    outfile: script,
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  const photos = path.join(temporary.folder, 'photos');
  for (const species of ['alpha', 'beta']) mkdirSync(path.join(photos, species), { recursive: true });
  for (let index = 0; index < 24; index++) await writeJpeg(path.join(photos, index % 2 ? 'alpha' : 'beta', `${index}.jpg`), index);
  project = Project.open(path.join(temporary.folder, 'project'), ONNX_MODEL);
  await importFolder(project.store, photos, { labelsFromFolders: true, thumbnailPath: (sha256) => project.thumbnailPath(sha256) });
}, 120_000);

afterAll(async () => {
  await project.close();
  temporary.cleanup();
});

describe('runInWorker', () => {
  it('embeds and clusters in a worker thread, reporting progress, while the main thread keeps the job row', async () => {
    const fractions: number[] = [];
    const jobId = project.jobs.start('cluster', {}, ({ signal, report }) =>
      runInWorker(project, { kind: 'cluster', method: 'kmeans', k: 2, seed: 3 }, { signal, report: (progress) => {
        fractions.push(progress.fraction);
        report(progress);
      }, epoch: () => undefined }, script),
    );
    const finished = await project.jobs.wait(jobId);
    expect(finished.status, finished.message).toBe('done');
    expect(finished.message).toMatch(/^Made 2 clusters of 24 images \(24 newly embedded\)/);
    expect(fractions.length).toBeGreaterThan(2);
    expect(project.store.latestRun()).toMatchObject({ method: 'kmeans', k: 2, seed: 3 });
    // The worker's own connection must not have marked the running job as interrupted.
    const row = project.store.database.prepare('SELECT status FROM jobs WHERE id = ?').get(jobId) as { status: string };
    expect(row.status).toBe('done');
  }, 120_000);

  it('stops when cancelled and saves no run', async () => {
    const before = project.store.latestRun()!.id;
    const controller = new AbortController();
    const running = runInWorker(project, { kind: 'cluster', method: 'spectral', k: 3, seed: 1 }, { signal: controller.signal, report: () => undefined, epoch: () => undefined }, script);
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(CancelledError);
    expect(project.store.latestRun()!.id).toBe(before);
  }, 120_000);

  it('passes the worker error message on', async () => {
    const empty = Project.open(path.join(temporary.folder, 'empty project'), ONNX_MODEL);
    try {
      const message = await runInWorker(empty, { kind: 'cluster', method: 'kmeans', k: 2, seed: 0 }, { signal: new AbortController().signal, report: () => undefined, epoch: () => undefined }).catch((error: Error) => error.message);
      const running = runInWorker(empty, { kind: 'cluster', method: 'kmeans', k: 2, seed: 0 }, { signal: new AbortController().signal, report: () => undefined, epoch: () => undefined }, script);
      // The same message the in-process run gives.
      await expect(running).rejects.toThrow(message);
      expect(message.length).toBeGreaterThan(10);
    } finally {
      await empty.close();
    }
  }, 120_000);
});
