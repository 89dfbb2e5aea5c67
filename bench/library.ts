/**
 * `node scripts/run-ts.mjs bench/library.ts [--images 50000]`: how fast the library's queries answer on a
 * project of N images (rows written directly: 60% labeled over 200 species, all in a 200-cluster run).
 * Prints one row per query: the median and worst of 20 runs, in milliseconds, and the rows it returned.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ImageFilter } from '../src-main/contract/api';
import { Project } from '../src-main/services/project';

const { values } = parseArgs({ options: { images: { type: 'string', default: '50000' } } });
const count = Number(values.images);
const folder = mkdtempSync(path.join(os.tmpdir(), 'specimen-library-bench-'));
const project = Project.open(folder);
const { store } = project;

const ids = store.upsertImages(
  Array.from({ length: count }, (_, index) => ({
    path: `/photos/trap ${index % 50}/moth-${String(index).padStart(6, '0')}.jpg`,
    fileName: `moth-${String(index).padStart(6, '0')}.jpg`,
    folder: `/photos/trap ${index % 50}`,
    sha256: index.toString(16).padStart(64, '0'),
    sizeBytes: 40_000,
    width: 800,
    height: 600,
    status: index % 97 === 0 ? ('error' as const) : ('ok' as const),
    error: index % 97 === 0 ? 'truncated' : null,
  })),
);
store.setLabels(ids.filter((_, index) => index % 5 < 3).map((imageId, index) => ({ imageId, species: `Species ${index % 200}` })), 'folder');
store.saveRun({ method: 'kmeans', k: 200, seed: 0, modelId: 'm', parameters: {} }, ids.map((imageId, index) => ({ imageId, clusterId: 1 + (index % 200), distance: index % 13 })));

function measure(name: string, run: () => number): void {
  const times: number[] = [];
  let rows = 0;
  for (let repeat = 0; repeat < 20; repeat++) {
    const start = performance.now();
    rows = run();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(44)} ${times[10]!.toFixed(2).padStart(8)} ${times[19]!.toFixed(2).padStart(8)} ${String(rows).padStart(8)}`);
}

const page = (offset: number, filter: ImageFilter) => () => store.listImages(offset, 240, filter).images.length;
console.log(`${count} images, 200 species, 200 clusters`);
console.log(`${'query'.padEnd(44)} ${'median'.padStart(8)} ${'worst'.padStart(8)} ${'rows'.padStart(8)}`);
measure('images:list first page, no filter', page(0, {}));
measure('images:list last page, no filter', page(count - 240, {}));
measure('images:list page 1, cluster 17', page(0, { clusterId: 17 }));
measure('images:list page 1, species', page(0, { species: 'Species 42' }));
measure('images:list page 1, unlabeled', page(0, { labeled: false }));
measure('images:list last page, unlabeled', page(Math.floor((count * 0.4) / 240) * 240 - 240, { labeled: false }));
measure('images:list page 1, unreadable', page(0, { status: 'error' }));
measure('images:list page 1, search "99"', page(0, { search: '99' }));
measure('images:list cluster+labeled+search', page(0, { clusterId: 3, labeled: true, search: '3' }));
measure('images:ids, no filter', () => store.imageIds({}).length);
measure('images:ids, unlabeled', () => store.imageIds({ labeled: false }).length);
measure('species:list', () => store.speciesCounts().length);

await project.close();
rmSync(folder, { recursive: true, force: true });
