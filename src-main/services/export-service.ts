/** The per-image CSV export. */
import { csvRow } from '../core/export/csv';
import { defaultClusterName, type ProjectStore } from './project-store';

/** Column names of the per-image CSV, in order. */
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

/** Builds the CSV of every image with its cluster in `runId` (default: the latest run). UTF-8, CRLF, RFC 4180. */
export function buildImageCsv(store: ProjectStore, runId?: number): { csv: string; rows: number } {
  const run = runId ?? store.latestRun()?.id ?? null;
  const rows = store.exportRows(run);
  const lines = [csvRow(IMAGE_CSV_COLUMNS)];
  for (const row of rows) {
    lines.push(
      csvRow([
        row.path,
        row.fileName,
        row.sha256,
        row.clusterId,
        row.clusterId === null ? null : (row.clusterName ?? defaultClusterName(row.clusterId)),
        row.distance === null ? null : Number(row.distance.toPrecision(7)),
        row.speciesLabel,
        row.labelSource,
        row.status,
        row.error,
      ]),
    );
  }
  return { csv: lines.join(''), rows: rows.length };
}
