import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { runCli } from '../helpers/capture-cli';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../../src-main/core/export/csv';
import { encodeNpy } from '../../src-main/core/export/npy';
import { adjustedRandIndex } from '../../src-main/core/metrics/clustering-metrics';
import { blobs, ONNX_MODEL, temporaryFolder, writeJpeg } from '../helpers/fixtures';

const temporary = temporaryFolder();
const photos = path.join(temporary.folder, 'photos');

const capture = runCli;

beforeAll(async () => {
  for (const species of ['Catocala nupta', 'Mimas tiliae']) mkdirSync(path.join(photos, species), { recursive: true });
  for (let index = 0; index < 12; index++) {
    await writeJpeg(path.join(photos, index % 2 ? 'Catocala nupta' : 'Mimas tiliae', `${index}.jpg`), index * 7);
  }
});
afterAll(() => temporary.cleanup());

describe('specimen-sorter command line', () => {
  it('runs import, embed, cluster, export in one go', async () => {
    const out = path.join(temporary.folder, 'out.csv');
    const project = path.join(temporary.folder, 'project-run');
    const result = await capture(['run', photos, '--model', ONNX_MODEL, '--k', '2', '--labels-from-folders', '--project', project, '--seed', '4', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Imported 12 images \(0 unreadable\), clustered into run 1, wrote 12 rows/);
    expect(result.stderr).toMatch(/embed 100%/);
    const rows = parseCsv(readFileSync(out, 'utf8'));
    expect(rows).toHaveLength(13);
    expect(new Set(rows.slice(1).map((row) => row[3]))).toEqual(new Set(['1', '2']));

    const evaluation = await capture(['evaluate', '--project', project, '--json']);
    expect(evaluation.code).toBe(0);
    const scores = JSON.parse(evaluation.stdout);
    expect(scores).toMatchObject({ run_id: 1, k: 2, seed: 4, count: 12 });
    for (const key of ['ca', 'nmi', 'ami', 'ari']) expect(typeof scores[key]).toBe('number');
  });

  it('runs the same steps one by one', async () => {
    const project = path.join(temporary.folder, 'project-steps');
    const imported = await capture(['import', photos, '--project', project, '--labels-from-folders', '--json']);
    expect(JSON.parse(imported.stdout)).toEqual({ imported: 12, failed: 0, errors: [] });
    expect((await capture(['embed', '--project', project, '--model', ONNX_MODEL])).stdout).toMatch(/Embedded 12 images/);
    expect((await capture(['cluster', '--project', project, '--k', '3', '--method', 'kmeans'])).code).toBe(0);
    expect((await capture(['evaluate', '--project', project])).stdout).toMatch(/ARI\s+[-0-9.]+/);
    const out = path.join(temporary.folder, 'steps.csv');
    expect((await capture(['export', '--project', project, '--out', out])).stdout).toBe(`Wrote 12 rows to ${out}\n`);
  });

  it('exports Darwin Core with a BOM, a cluster summary and embeddings, and labels from a CSV', async () => {
    const project = path.join(temporary.folder, 'project-steps');
    const labels = path.join(temporary.folder, 'labels.csv');
    writeFileSync(labels, 'file_name;species\r\n0.jpg;"=Mimas, tiliae"\r\nmissing.jpg;Laothoe populi\r\n');
    const labeled = await capture(['label', '--project', project, '--from-csv', labels]);
    expect(labeled.code).toBe(0);
    expect(labeled.stdout).toMatch(/Labeled 1 images with 1 species; 1 rows matched no image/);
    expect(labeled.stderr).toMatch(/Row 3 \(missing.jpg\): no image with this path or file name/);

    const out = path.join(temporary.folder, 'dwc.csv');
    const summary = path.join(temporary.folder, 'clusters.csv');
    const vectors = path.join(temporary.folder, 'vectors.npy');
    const map = path.join(temporary.folder, 'map.csv');
    const report = path.join(temporary.folder, 'report.html');
    const result = await capture(['export', '--project', project, '--out', out, '--format', 'dwc', '--bom', '--summary', summary, '--embeddings', vectors, '--map', map, '--report', report]);
    expect(result.code).toBe(0);
    const mapRows = parseCsv(readFileSync(map, 'utf8'));
    expect(mapRows[0]).toEqual(['image_path', 'file_name', 'content_sha256', 'x', 'y', 'cluster_id', 'species_label']);
    expect(mapRows).toHaveLength(13);
    expect(mapRows.slice(1).every((row) => Number.isFinite(Number(row[3])) && Number.isFinite(Number(row[4])))).toBe(true);
    const html = readFileSync(report, 'utf8');
    expect(html).toMatch(/<h2>Map<\/h2>/);
    expect(html).toMatch(/<img src="data:image\/jpeg;base64,/);
    expect(html).toMatch(/Catocala nupta|Mimas tiliae/);
    const text = readFileSync(out, 'utf8');
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const rows = parseCsv(text);
    expect(rows[0]).toEqual(expect.arrayContaining(['occurrenceID', 'basisOfRecord', 'scientificName', 'associatedMedia', 'cluster_id', 'cluster_name']));
    const scientificName = rows[0]!.indexOf('scientificName');
    // A label that starts with "=" is neutralised so no spreadsheet runs it as a formula.
    expect(rows.slice(1).map((row) => row[scientificName])).toContain("'=Mimas, tiliae");
    expect(parseCsv(readFileSync(summary, 'utf8'))[0]).toEqual(['cluster_id', 'cluster_name', 'size', 'labeled', 'top_species', 'top_species_count', 'purity', 'mean_distance_to_center']);
    const npy = readFileSync(vectors);
    expect(npy.subarray(1, 6).toString('latin1')).toBe('NUMPY');
    expect(readFileSync(path.join(temporary.folder, 'vectors.index.csv'), 'utf8').split('\r\n')[0]).toBe('index,image_path,file_name,content_sha256,species_label,cluster_id');
  });

  it('clusters embeddings brought from elsewhere (.npy and .csv), estimating k when asked', async () => {
    const { data, labels } = blobs(240, 16, 6, 5);
    const npy = path.join(temporary.folder, 'vectors.npy');
    writeFileSync(npy, encodeNpy(data, [240, 16]));
    const out = path.join(temporary.folder, 'labels.csv');
    const auto = await capture(['cluster-embeddings', '--input', npy, '--k', 'auto', '--method', 'spectral', '--out', out]);
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(/Eigengap estimate: k = 6/);
    const rows = parseCsv(readFileSync(out, 'utf8'));
    expect(rows[0]).toEqual(['index', 'cluster']);
    expect(rows).toHaveLength(241);
    expect(adjustedRandIndex(labels, rows.slice(1).map((row) => Number(row[1])))).toBe(1);

    const csv = path.join(temporary.folder, 'vectors.csv');
    const lines = Array.from({ length: 240 }, (_, row) => Array.from(data.subarray(row * 16, (row + 1) * 16)).join(','));
    writeFileSync(csv, `${Array.from({ length: 16 }, (_, index) => `f${index}`).join(',')}\n${lines.join('\n')}\n`);
    const byKmeans = await capture(['cluster-embeddings', '--input', csv, '--k', '6', '--restarts', '3', '--out', out]);
    expect(byKmeans.stdout).toMatch(/Clustered 240 vectors of 16 dimensions into 6 clusters \(kmeans\)/);
    expect(adjustedRandIndex(labels, parseCsv(readFileSync(out, 'utf8')).slice(1).map((row) => Number(row[1])))).toBe(1);
    const bySilhouette = await capture(['cluster-embeddings', '--input', csv, '--k', 'auto', '--k-criterion', 'silhouette', '--out', out]);
    expect(bySilhouette.stderr).toMatch(/Silhouette estimate: k = 6 \(2: /);
    expect((await capture(['cluster-embeddings', '--input', csv, '--k', 'auto', '--k-criterion', 'vibes', '--out', out])).stderr).toMatch(/Unknown --k-criterion "vibes"/);
    // HDBSCAN finds k itself (the six blobs) and needs no --k.
    const byDensity = await capture(['cluster-embeddings', '--input', csv, '--method', 'hdbscan', '--out', out]);
    expect(byDensity.code, byDensity.stderr).toBe(0);
    expect(byDensity.stderr).toMatch(/HDBSCAN: \d+ clusters/);
    const densityLabels = parseCsv(readFileSync(out, 'utf8')).slice(1).map((row) => Number(row[1]));
    expect(densityLabels).toHaveLength(240);
    for (const method of ['gmm', 'agglomerative']) {
      const result = await capture(['cluster-embeddings', '--input', csv, '--k', '6', '--method', method, '--out', out]);
      expect(result.code, result.stderr).toBe(0);
      expect(adjustedRandIndex(labels, parseCsv(readFileSync(out, 'utf8')).slice(1).map((row) => Number(row[1])))).toBe(1);
    }
  });

  it('exits 2 with a clear message on bad arguments', async () => {
    const missingK = await capture(['cluster', '--project', temporary.folder]);
    expect(missingK.code).toBe(2);
    expect(missingK.stderr).toMatch(/cluster needs --k/);
    const badK = await capture(['cluster', '--project', temporary.folder, '--k', 'many']);
    expect(badK.stderr).toMatch(/--k must be a whole number/);
    expect((await capture(['cluster', '--project', temporary.folder, '--k', '2', '--method', 'magic'])).stderr).toMatch(/Unknown --method "magic". Available: kmeans, spectral, seeded/);
    expect((await capture(['frobnicate'])).stderr).toMatch(/Unknown command "frobnicate"/);
    expect((await capture(['import', '--bogus'])).code).toBe(2);
    expect((await capture([])).code).toBe(2);
    expect((await capture(['export', '--project', temporary.folder, '--out', 'x.csv', '--format', 'xml'])).stderr).toMatch(/Unknown --format "xml"/);
    expect((await capture(['label', '--project', temporary.folder])).stderr).toMatch(/exactly one of --from-folders or --from-csv/);
    const resumeWithSettings = await capture(['train', '--project', temporary.folder, '--resume', '--epochs', '3', '--seed', '1']);
    expect(resumeWithSettings.code).toBe(2);
    expect(resumeWithSettings.stderr).toMatch(/train --resume goes on with the stopped run's own settings; leave out --epochs, --seed/);
  });

  it('exits 1 with a message for a failing step', async () => {
    const result = await capture(['evaluate', '--project', path.join(temporary.folder, 'empty-project')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no clustering run yet/);
    const resume = await capture(['train', '--project', path.join(temporary.folder, 'empty-project'), '--resume']);
    expect(resume.code).toBe(1);
    expect(resume.stderr).toMatch(/no stopped training run to resume; start a new one/);
  });
});
