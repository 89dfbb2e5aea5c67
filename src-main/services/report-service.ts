/**
 * The 2-D map export (PCA of the clustered embeddings, for R and Python users) and a self-contained HTML
 * project report: counts, the latest run's scores, the map, training history and each cluster with
 * thumbnails, in one file that opens offline in any browser.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { principalComponents } from '../core/projection/pca';
import { writeTable } from '../core/export/table-writer';
import { ACTIVE_CHECKPOINT_SETTING } from './embedding-space';
import { defaultClusterName, type ProjectStore } from './project-store';

/** Map coordinates of every clustered image in the latest run, with its cluster and label. */
export function buildMapCoordinates(store: ProjectStore): { rows: { imageId: number; path: string; fileName: string; sha256: string | null; x: number; y: number; clusterId: number | null; species: string | null }[]; explained: number[] } {
  const run = store.latestRun();
  if (!run) throw new Error('There is no clustering run yet: cluster first, then export the map.');
  const { imageIds, dims, data } = store.embeddingsForImages(run.modelId);
  const { coordinates, explained } = principalComponents({ data, count: imageIds.length, dims }, 2);
  const exported = new Map(store.exportRows(run.id).map((row) => [row.path, row]));
  const rows = imageIds.map((imageId, index) => {
    const image = store.image(imageId)!;
    const row = exported.get(image.path);
    return {
      imageId,
      path: image.path,
      fileName: image.fileName,
      sha256: image.sha256,
      x: Number(coordinates[index * 2]!.toPrecision(6)),
      y: Number(coordinates[index * 2 + 1]!.toPrecision(6)),
      clusterId: row?.clusterId ?? null,
      species: row?.speciesLabel ?? null,
    };
  });
  return { rows, explained };
}

/** The map as CSV: image_path, file_name, content_sha256, x, y, cluster_id, species_label. */
export function buildMapCsv(store: ProjectStore): { csv: string; rows: number } {
  const { rows } = buildMapCoordinates(store);
  return {
    csv: writeTable(
      ['image_path', 'file_name', 'content_sha256', 'x', 'y', 'cluster_id', 'species_label'],
      rows.map((row) => [row.path, row.fileName, row.sha256, row.x, row.y, row.clusterId, row.species]),
    ),
    rows: rows.length,
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

function colour(index: number): string {
  return `hsl(${(index * 137.508) % 360} 55% 45%)`;
}

/** Builds the HTML report. Thumbnails are embedded, so the file stands alone. */
export function buildHtmlReport(store: ProjectStore, thumbnailPath: (sha256: string) => string, projectFolder: string): string {
  const counts = store.counts();
  const run = store.latestRun();
  const parts: string[] = [];
  const title = `Specimen Sorter report: ${path.basename(projectFolder)}`;
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  parts.push(`<p>${counts.imageCount} photos (${counts.failedCount} unreadable), ${counts.labeledCount} labeled, ${counts.speciesCount} species. Written ${escapeHtml(new Date().toISOString())}.</p>`);
  if (!run) {
    parts.push('<p>No clustering run yet.</p>');
  } else {
    parts.push(`<h2>Clustering</h2><p>Run ${run.id}: ${escapeHtml(run.method)}, k = ${run.k}, seed ${run.seed}, embedding ${escapeHtml(run.modelId)}.</p>`);
    if (run.metrics) {
      const { ca, nmi, ami, ari, count } = run.metrics;
      parts.push(`<table><tr><th>CA</th><th>NMI</th><th>AMI</th><th>ARI</th><th>labeled photos scored</th></tr><tr><td>${ca.toFixed(3)}</td><td>${nmi.toFixed(3)}</td><td>${ami.toFixed(3)}</td><td>${ari.toFixed(3)}</td><td>${count}</td></tr></table>`);
    }
    const { rows, explained } = buildMapCoordinates(store);
    const xs = rows.map((row) => row.x);
    const ys = rows.map((row) => row.y);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const scale = (value: number, min: number, max: number) => (max > min ? ((value - min) / (max - min)) * 580 + 10 : 300);
    const dots = rows.map((row) => `<circle cx="${scale(row.x, minX, maxX).toFixed(1)}" cy="${(600 - scale(row.y, minY, maxY)).toFixed(1)}" r="3" fill="${colour(row.clusterId ?? 0)}"><title>${escapeHtml(row.fileName)}</title></circle>`);
    parts.push(`<h2>Map</h2><p>First two principal components of the embeddings (${(explained[0]! * 100).toFixed(1)}% and ${(explained[1]! * 100).toFixed(1)}% of the variance), coloured by cluster.</p><svg viewBox="0 0 600 600" width="600" height="600" role="img" aria-label="Map of the photos">${dots.join('')}</svg>`);
    const checkpointId = store.setting(ACTIVE_CHECKPOINT_SETTING);
    const checkpoint = checkpointId ? store.checkpoint(Number(checkpointId)) : null;
    if (checkpoint && Array.isArray(checkpoint.history)) {
      const history = checkpoint.history as { epoch: number; loss: number; validationCa: number | null }[];
      parts.push(`<h2>Fine-tuning</h2><p>Checkpoint ${checkpoint.id}, best epoch ${checkpoint.bestEpoch}.</p><table><tr><th>epoch</th><th>loss</th><th>validation CA</th></tr>${history
        .map((record) => `<tr><td>${record.epoch}</td><td>${record.loss.toFixed(4)}</td><td>${record.validationCa === null || Number.isNaN(record.validationCa) ? 'n/a' : record.validationCa.toFixed(3)}</td></tr>`)
        .join('')}</table>`);
    }
    const names = store.clusterNames(run.id);
    parts.push('<h2>Clusters</h2>');
    for (const [clusterId, members] of store.clusterMembers(run.id)) {
      const species = new Map<string, number>();
      for (const member of members) if (member.species) species.set(member.species, (species.get(member.species) ?? 0) + 1);
      const top = [...species].sort((a, b) => b[1] - a[1])[0];
      const thumbnails = members.slice(0, 8).flatMap((member) => {
        const image = store.image(member.imageId);
        if (!image?.sha256) return [];
        const file = thumbnailPath(image.sha256);
        if (!existsSync(file)) return [];
        return [`<img src="data:image/jpeg;base64,${readFileSync(file).toString('base64')}" alt="${escapeHtml(image.fileName)}" width="96" height="96">`];
      });
      parts.push(
        `<section><h3><span class="swatch" style="background:${colour(clusterId)}"></span>${escapeHtml(names.get(clusterId) ?? defaultClusterName(clusterId))} <small>${members.length} photos${top ? `; ${escapeHtml(top[0])} ${top[1]}` : ''}</small></h3>${thumbnails.join('')}</section>`,
      );
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#1f2421;max-width:1100px}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
img{object-fit:cover;margin:2px;border-radius:4px}section{margin-bottom:1rem}.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:50%;margin-right:.4rem}small{color:#5d655f;font-weight:normal}
</style></head><body>${parts.join('\n')}</body></html>\n`;
}
