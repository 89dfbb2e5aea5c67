import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanImageFolder } from '../../src-main/core/images/scan';
import { importFolder } from '../../src-main/services/import-service';
import {
  PAPER_BENCHMARK_SCALES,
  type PaperBenchmarkResult,
  paperBenchmarkJson,
  paperBenchmarkTable,
  runPaperBenchmark,
  type ScoreSummary,
} from '../../src-main/services/paper-benchmark';
import { Project } from '../../src-main/services/project';
import { ONNX_MODEL, TFJS_MODEL, temporaryFolder, writeSpeciesFolders } from '../helpers/fixtures';

const score = (ari: number): ScoreSummary => ({ ca: 0.5, nmi: 0.6, ami: 0.55, ari, ari_sd: 0.01, ca_sd: 0.02 });

const result: PaperBenchmarkResult = {
  dataset: 'eu_moths',
  model: 'm-0f20878d253f',
  scales: [224, 288, 320],
  features: 'm-0f20878d253f@224+288+320',
  species: { train: 100, validation: 50, test: 50 },
  images: { train: 1000, validation: 600, test: 555 },
  runs: 5,
  frozen: { kmeans: score(0.1), spectral: score(0.2) },
  whitened: { kmeans: score(0.3), spectral: score(0.4) },
  power: { chosen: 0.5, validationCa: { '1': 0.71, '0.5': 0.73 } },
  final: { features: 'whitening', validationCa: { whitening: 0.73, episodic: 0.72 } },
  episodic: { alpha: 0.1, kmeans: score(0.5), spectral: score(0.6), validationCa: { '0': 0.7, '0.1': 0.71 }, bestEpoch: 6 },
  trainable: 'head',
  last_blocks: null,
  seeded: {
    labeled_per_species: 5,
    method: 'balanced-soft-seeded-kmeans',
    temperature: 0.05,
    features: 'whitening-refit',
    refit_weight: 16,
    trainable: 'head',
    ari: 0.8,
    ari_sd: 0.03,
    frozen_ari: 0.55,
    validation: { 'seeded-kmeans': 0.7, 'balanced-soft-seeded-kmeans T0.05, whitening refit x16': 0.85 },
    unbalanced: { method: 'soft-seeded-kmeans', temperature: 0.05, features: 'whitening-refit', refit_weight: 4, trainable: 'head', validation_ari: 0.82, ari: 0.77, ari_sd: 0.02 },
  },
  train_seconds: 300,
  embed_seconds: 120,
  seconds: 500,
};

describe('paper benchmark output', () => {
  it('averages 224, 288 and 320 px by default (chosen on validation species)', () => {
    expect(PAPER_BENCHMARK_SCALES).toEqual([224, 288, 320]);
  });

  it('keeps the JSON keys and adds the input sizes and embedding time', () => {
    const json = JSON.parse(paperBenchmarkJson(result)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['frozen', 'whitened', 'power', 'final', 'episodic', 'trainable', 'last_blocks', 'seeded', 'train_seconds', 'scales', 'embed_seconds']);
    expect(json.trainable).toBe('head');
    expect(json.power).toBe(0.5);
    expect(json.last_blocks).toBeNull();
    expect(json.episodic).toEqual({ alpha: 0.1, kmeans: { ca: 0.5, nmi: 0.6, ami: 0.55, ari: 0.5, ari_sd: 0.01 }, spectral: { ca: 0.5, nmi: 0.6, ami: 0.55, ari: 0.6, ari_sd: 0.01 } });
    expect(json.seeded).toEqual({
      labeled_per_species: 5,
      method: 'balanced-soft-seeded-kmeans',
      temperature: 0.05,
      features: 'whitening-refit',
      refit_weight: 16,
      trainable: 'head',
      ari: 0.8,
      ari_sd: 0.03,
      unbalanced: { method: 'soft-seeded-kmeans', temperature: 0.05, features: 'whitening-refit', refit_weight: 4, trainable: 'head', validation_ari: 0.82, ari: 0.77, ari_sd: 0.02 },
    });
    expect(json.scales).toEqual([224, 288, 320]);
    expect(json.embed_seconds).toBe(120);
  });

  it('says in the frozen rows which features they use', () => {
    const table = paperBenchmarkTable(result);
    expect(table).toContain('| frozen (224 + 288 + 320 px, mirror-averaged) | K-means | 0.500 (0.020) | 0.600 | 0.550 | 0.100 (0.010) |');
    expect(table).toContain('| frozen (224 + 288 + 320 px, mirror-averaged), 5 labeled per species (ARI on the rest) | balanced-soft-seeded-kmeans T0.05 | | | | 0.550 |');
    expect(table).toContain('| whitening-refit x4, 5 labeled per species, best not assuming equally common species | soft-seeded-kmeans T0.05 | | | | 0.770 (0.020) |');
    expect(table).toContain('| frozen ^ 0.5 + within-class whitening | spectral | 0.500 (0.020) | 0.600 | 0.550 | 0.400 (0.010) |');
    expect(table).toContain('Input power chosen on validation (mean K-means CA of the whitening): 0.5 {"1":0.71,"0.5":0.73}');
    expect(table).toContain('Seeded, validation ARI: seeded-kmeans 0.700; balanced-soft-seeded-kmeans T0.05, whitening refit x16 0.850');
    expect(table).toContain('features m-0f20878d253f@224+288+320');
    expect(table).toContain('Embedding (224, 288, 320 px, plain and mirrored, what the cache lacked): 120.0 s');
  });
});

/** 8 species x 12 generated photos with splits: 4 for training, 2 for validation, 2 for test. */
async function tinySplitDataset(folder: string): Promise<{ dataset: string; splits: string }> {
  const dataset = path.join(folder, 'photos');
  await writeSpeciesFolders(dataset, 8, 12);
  const splits = path.join(folder, 'splits');
  mkdirSync(splits);
  const species = (first: number, end: number) => Array.from({ length: end - first }, (_, index) => `species ${first + index}`);
  for (const [part, names] of [['train', species(0, 4)], ['val', species(4, 6)], ['test', species(6, 8)]] as const) {
    writeFileSync(path.join(splits, `tiny_${part}.json`), JSON.stringify({ class_names: names }));
  }
  return { dataset, splits };
}

describe('runPaperBenchmark', () => {
  it('gives the same figures for a seed whatever order its cache numbered the photos in', async () => {
    const temporary = temporaryFolder();
    try {
      const { dataset, splits } = await tinySplitDataset(temporary.folder);
      // A cache numbered in another order than the scan, as caches imported before imports wrote rows in scan
      // order are: every other photo removed and imported again, so those come last.
      const reorderedCache = path.join(temporary.folder, 'reordered-cache');
      const project = Project.open(reorderedCache, ONNX_MODEL);
      const importOptions = { labelsFromFolders: true, thumbnailPath: (sha: string) => project.thumbnailPath(sha) };
      await importFolder(project.store, dataset, importOptions);
      project.store.database.prepare('DELETE FROM images WHERE id % 2 = 0').run();
      await importFolder(project.store, dataset, importOptions);
      const scanned = (await scanImageFolder(dataset)).map((entry) => entry.path);
      expect(project.store.database.prepare('SELECT path FROM images ORDER BY id').pluck().all()).not.toEqual(scanned);
      await project.close();

      const options = { dataset, splits, model: ONNX_MODEL, runs: 1, alphas: [0.1], seed: 2, scales: [224], training: { epochs: 2, tasksPerEpoch: 5, way: 4 } };
      const fresh = await runPaperBenchmark({ ...options, cacheFolder: path.join(temporary.folder, 'fresh-cache') });
      const reordered = await runPaperBenchmark({ ...options, cacheFolder: reorderedCache });
      const figures = (result: PaperBenchmarkResult) => ({ ...result, train_seconds: 0, embed_seconds: 0, seconds: 0 });
      expect(fresh.images).toEqual({ train: 48, validation: 24, test: 24 });
      // The input power is chosen by the whitening's validation CA among 1 and 0.5.
      expect(Object.keys(fresh.power.validationCa)).toEqual(['1', '0.5']);
      expect(fresh.power.validationCa[String(fresh.power.chosen)]).toBe(Math.max(...Object.values(fresh.power.validationCa)));
      expect(figures(reordered)).toEqual(figures(fresh));
    } finally {
      temporary.cleanup();
    }
  });

  it('fine-tunes the last block too when asked, and lets validation choose', async () => {
    const temporary = temporaryFolder();
    try {
      const { dataset, splits } = await tinySplitDataset(temporary.folder);
      const result = await runPaperBenchmark({
        dataset,
        splits,
        model: TFJS_MODEL,
        runs: 1,
        alphas: [0.1],
        seed: 2,
        scales: [64, 96],
        training: { epochs: 2, tasksPerEpoch: 5, way: 4 },
        trainables: ['head', 'last-blocks'],
        lastBlockTasks: 4,
        labeledPerSpecies: 2,
        cacheFolder: path.join(temporary.folder, 'cache'),
      });
      const block = result.last_blocks!;
      expect(block).not.toBeNull();
      expect(block.tasks_per_epoch).toBe(4);
      expect(block.block_validation_ca.trained).toBeGreaterThanOrEqual(block.block_validation_ca.pretrained);
      expect(block.kmeans.ari).toBeGreaterThan(-1);
      expect(result.trainable).toBe(Math.max(...Object.values(block.validationCa)) > block.head_validation_ca ? 'last-blocks' : 'head');
      if (result.trainable === 'last-blocks') expect(result.final.validationCa).toEqual(block.validationCa);
      expect(paperBenchmarkTable(result)).toContain('| last block + whitening + episodic, alpha 0.1 | K-means |');
      expect(JSON.parse(paperBenchmarkJson(result)).last_blocks.tasks_per_epoch).toBe(4);
      // Seeded clustering chose among the candidates on both feature spaces, by validation ARI.
      const names = Object.keys(result.seeded!.validation);
      expect(names).toHaveLength(42);
      expect(names.filter((name) => name.startsWith('last block: '))).toHaveLength(21);
      expect(names.filter((name) => name.endsWith('whitening refit x16'))).toHaveLength(14);
      const chosen = `${result.seeded!.trainable === 'last-blocks' ? 'last block: ' : ''}${result.seeded!.method}`;
      expect(Math.max(...Object.values(result.seeded!.validation))).toBe(
        Math.max(...names.filter((name) => name.startsWith(chosen) && (result.seeded!.trainable === 'last-blocks' || !name.startsWith('last block: '))).map((name) => result.seeded!.validation[name]!)),
      );
    } finally {
      temporary.cleanup();
    }
  });
});
