/** Exports: the per-image CSV (plain or Darwin Core), the per-cluster summary, and embeddings as .npy. */
import path from 'node:path';
import { DARWIN_CORE_COLUMNS, darwinCoreTable, type LabelSource } from '../core/export/darwin-core';
import { encodeNpy } from '../core/export/npy';
import { type TableDelimiter, writeTable } from '../core/export/table-writer';
import { defaultClusterName, type ProjectStore } from './project-store';

/** Column names of the plain per-image CSV, in order. */
export const IMAGE_CSV_COLUMNS = [
  'image_path',
  'file_name',
  'content_sha256',
  'cluster_id',
  'cluster_name',
  'distance_to_center',
  'species_label',
  'label_source',
  'status',
  'error',
] as const;

/** Column names of the per-cluster summary. */
export const SUMMARY_CSV_COLUMNS = [
  'cluster_id',
  'cluster_name',
  'size',
  'labeled',
  'top_species',
  'top_species_count',
  'purity',
  'mean_distance_to_center',
] as const;

/** Choices for CSV files: RFC 4180 always; cells that would start a spreadsheet formula are neutralised. */
export interface CsvOptions {
  /** `plain` (default) or `dwc`, Darwin Core occurrence terms. */
  format?: 'plain' | 'dwc';
  delimiter?: TableDelimiter;
  /** Start with a UTF-8 byte order mark, so Excel reads accents correctly. */
  bom?: boolean;
  /** Clustering run to export; default the latest. */
  runId?: number;
}

/** Builds the CSV of every image with its cluster. UTF-8, CRLF, RFC 4180. */
export function buildImageCsv(store: ProjectStore, options: CsvOptions = {}): { csv: string; rows: number } {
  const run = options.runId ?? store.latestRun()?.id ?? null;
  const rows = store.exportRows(run);
  const clusterName = (row: (typeof rows)[number]) => (row.clusterId === null ? null : (row.clusterName ?? defaultClusterName(row.clusterId)));
  const distance = (row: (typeof rows)[number]) => (row.distance === null ? null : Number(row.distance.toPrecision(7)));
  const tableOptions = { delimiter: options.delimiter ?? ',', bom: options.bom ?? false };
  if (options.format === 'dwc') {
    const projectName = path.basename(path.dirname(store.database.name));
    const table = darwinCoreTable(
      rows.map((row) => ({
        imagePath: row.path,
        fileName: row.fileName,
        sha256: row.sha256,
        clusterId: row.clusterId,
        clusterName: clusterName(row),
        distanceToCenter: distance(row),
        speciesLabel: row.speciesLabel,
        labelSource: row.labelSource as LabelSource | null,
        projectName,
      })),
    );
    return { csv: writeTable(DARWIN_CORE_COLUMNS, table.rows, tableOptions), rows: rows.length };
  }
  const table = rows.map((row) => [
    row.path,
    row.fileName,
    row.sha256,
    row.clusterId,
    clusterName(row),
    distance(row),
    row.speciesLabel,
    row.labelSource,
    row.status,
    row.error,
  ]);
  return { csv: writeTable(IMAGE_CSV_COLUMNS, table, tableOptions), rows: rows.length };
}

/** One row per cluster of a run: size, the most common known species and its share, mean distance. */
export function buildSummaryCsv(store: ProjectStore, options: CsvOptions = {}): { csv: string; rows: number } {
  const run = options.runId ?? store.latestRun()?.id ?? null;
  if (run === null) throw new Error('There is no clustering run to summarise yet: cluster first.');
  const names = store.clusterNames(run);
  const table = [...store.clusterMembers(run)].map(([clusterId, members]) => {
    const counts = new Map<string, number>();
    for (const member of members) if (member.species !== null) counts.set(member.species, (counts.get(member.species) ?? 0) + 1);
    const labeled = [...counts.values()].reduce((sum, count) => sum + count, 0);
    const [topSpecies, topCount] = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? [null, 0];
    const meanDistance = members.reduce((sum, member) => sum + member.distance, 0) / members.length;
    return [
      clusterId,
      names.get(clusterId) ?? defaultClusterName(clusterId),
      members.length,
      labeled,
      topSpecies,
      labeled > 0 ? topCount : null,
      labeled > 0 ? Number((topCount / labeled).toFixed(4)) : null,
      Number(meanDistance.toPrecision(7)),
    ];
  });
  return { csv: writeTable(SUMMARY_CSV_COLUMNS, table, { delimiter: options.delimiter ?? ',', bom: options.bom ?? false }), rows: table.length };
}

/**
 * The embeddings of every readable image for one model as a float32 .npy (N x D, C order) and an index CSV
 * whose row i describes vector i, for analysis in R or Python.
 */
export function buildEmbeddingExport(store: ProjectStore, modelId: string): { npy: Uint8Array; indexCsv: string; count: number; dims: number } {
  const { imageIds, dims, data } = store.embeddingsForImages(modelId);
  if (imageIds.length === 0) throw new Error(`No embeddings for model ${modelId}: embed or cluster the project first.`);
  const byId = new Map(store.exportRows(store.latestRun()?.id ?? null).map((row) => [row.path, row]));
  const images = imageIds.map((id) => store.image(id)!);
  const index = images.map((image, row) => {
    const exported = byId.get(image.path);
    return [row, image.path, image.fileName, image.sha256, exported?.speciesLabel ?? null, exported?.clusterId ?? null];
  });
  return {
    npy: encodeNpy(data, [imageIds.length, dims]),
    indexCsv: writeTable(['index', 'image_path', 'file_name', 'content_sha256', 'species_label', 'cluster_id'], index),
    count: imageIds.length,
    dims,
  };
}
