/**
 * Edits of a clustering run that a biologist makes while reviewing: merge clusters, split one into
 * sub-clusters, move images to another cluster. Each edit is saved at once together with what it replaced,
 * so `undoLastEdit` can restore the run exactly.
 */
import { kmeans } from '../core/clustering/kmeans';
import { nowIso } from '../db/database';
import { distancesToCentroids, evaluateRun } from './cluster-service';
import type { ProjectStore } from './project-store';
import { gatherRows } from '../core/util/rows';

interface Assignment {
  imageId: number;
  clusterId: number;
  distance: number;
}

/** A label as stored, or `species: null` for an image that had none. */
interface PreviousLabel {
  imageId: number;
  species: string | null;
  source: string | null;
  createdAt: string | null;
}

interface PreviousState {
  assignments: Assignment[];
  names: { clusterId: number; name: string | null }[];
  /** Labels an edit replaced (marking a cluster as a species); absent for edits that change no labels. */
  labels?: PreviousLabel[];
  /** A species the edit created, removed again by Undo when no image carries it any more. */
  createdSpecies?: string | null;
}

function assignments(store: ProjectStore, runId: number): Assignment[] {
  return store.database
    .prepare('SELECT image_id AS imageId, cluster_id AS clusterId, distance FROM assignments WHERE run_id = ? ORDER BY image_id')
    .all(runId) as Assignment[];
}

/** Recomputes distances to the cluster means for the given clusters, in the run's embedding space. */
function refreshDistances(store: ProjectStore, runId: number, clusterIds: number[]): void {
  const run = store.run(runId)!;
  const embedded = store.embeddingsForImages(run.modelId);
  const rowOf = new Map(embedded.imageIds.map((id, row) => [id, row]));
  const wanted = new Set(clusterIds);
  const members = assignments(store, runId).filter((item) => wanted.has(item.clusterId) && rowOf.has(item.imageId));
  if (members.length === 0) return;
  const dims = embedded.dims;
  const data = gatherRows(embedded.data, dims, members.map((item) => rowOf.get(item.imageId)!));
  const order = [...wanted];
  const labels = Int32Array.from(members.map((item) => order.indexOf(item.clusterId)));
  const distances = distancesToCentroids({ data, count: members.length, dims }, labels, order.length);
  const update = store.database.prepare('UPDATE assignments SET distance = ? WHERE run_id = ? AND image_id = ?');
  members.forEach((item, index) => update.run(distances[index]!, runId, item.imageId));
}

function recordEdit(
  store: ProjectStore,
  runId: number,
  kind: string,
  description: string,
  affected: Assignment[],
  clusterIds: number[],
  extra: Pick<PreviousState, 'labels' | 'createdSpecies'> = {},
): void {
  const names = store.clusterNames(runId);
  const previous: PreviousState = {
    assignments: affected,
    names: clusterIds.map((clusterId) => ({ clusterId, name: names.get(clusterId) ?? null })),
    ...extra,
  };
  store.database
    .prepare('INSERT INTO cluster_edits (run_id, kind, description, previous, created_at) VALUES (?, ?, ?, ?, ?)')
    .run(runId, kind, description, JSON.stringify(previous), nowIso());
}

/** Scores the run again; clears its scores when an edit (or a change of labels) left no labeled image in it. */
export function rescore(store: ProjectStore, runId: number): void {
  if (evaluateRun(store, runId) === null) store.database.prepare('UPDATE cluster_runs SET metrics = NULL WHERE id = ?').run(runId);
}

function requireRun(store: ProjectStore, runId: number): void {
  if (!store.run(runId)) throw new Error(`Clustering run ${runId} does not exist; cluster again and retry.`);
}

/** Merges clusters into the first one given; returns the surviving cluster id. */
export function mergeClusters(store: ProjectStore, runId: number, clusterIds: number[]): { clusterId: number; moved: number } {
  requireRun(store, runId);
  const unique = [...new Set(clusterIds)];
  if (unique.length < 2) throw new Error('Select at least two clusters to merge.');
  const [target, ...others] = unique as [number, ...number[]];
  const affected = assignments(store, runId).filter((item) => unique.includes(item.clusterId));
  if (!affected.some((item) => item.clusterId === target)) throw new Error(`Cluster ${target} does not exist in this run.`);
  const moved = affected.filter((item) => others.includes(item.clusterId));
  store.database.transaction(() => {
    recordEdit(store, runId, 'merge', `Merged clusters ${others.join(', ')} into ${target}`, affected, unique);
    const move = store.database.prepare('UPDATE assignments SET cluster_id = ? WHERE run_id = ? AND image_id = ?');
    for (const item of moved) move.run(target, runId, item.imageId);
    const forget = store.database.prepare('DELETE FROM cluster_names WHERE run_id = ? AND cluster_id = ?');
    for (const other of others) forget.run(runId, other);
    refreshDistances(store, runId, [target]);
  })();
  evaluateRun(store, runId);
  return { clusterId: target, moved: moved.length };
}

/** Splits a cluster into `parts` sub-clusters by K-means; the first keeps the id, the others get new ids. */
export async function splitCluster(store: ProjectStore, runId: number, clusterId: number, parts = 2, seed = 0): Promise<{ clusterIds: number[] }> {
  requireRun(store, runId);
  const run = store.run(runId)!;
  const all = assignments(store, runId);
  const members = all.filter((item) => item.clusterId === clusterId);
  if (members.length < parts) throw new Error(`Cluster ${clusterId} has ${members.length} images; it cannot be split into ${parts}.`);
  const embedded = store.embeddingsForImages(run.modelId);
  const rowOf = new Map(embedded.imageIds.map((id, row) => [id, row]));
  const dims = embedded.dims;
  const rows = members.map((item) => rowOf.get(item.imageId));
  if (rows.includes(undefined)) throw new Error('Some images of this cluster have no embedding any more; cluster again.');
  const data = gatherRows(embedded.data, dims, rows as number[]);
  const result = await kmeans({ data, count: members.length, dims }, { k: parts, seed, restarts: 5 });
  const firstNew = Math.max(...all.map((item) => item.clusterId)) + 1;
  // The largest part keeps the original id.
  const sizes = Array.from({ length: parts }, (_, part) => result.labels.filter((label) => label === part).length);
  const keeper = sizes.indexOf(Math.max(...sizes));
  const idOf = (part: number) => (part === keeper ? clusterId : firstNew + (part < keeper ? part : part - 1));
  const clusterIds = Array.from({ length: parts }, (_, part) => idOf(part)).sort((a, b) => a - b);
  store.database.transaction(() => {
    recordEdit(store, runId, 'split', `Split cluster ${clusterId} into ${parts}`, members, [clusterId]);
    const update = store.database.prepare('UPDATE assignments SET cluster_id = ?, distance = ? WHERE run_id = ? AND image_id = ?');
    members.forEach((item, index) => update.run(idOf(result.labels[index]!), result.distances[index]!, runId, item.imageId));
  })();
  evaluateRun(store, runId);
  return { clusterIds };
}

/** Moves images into another (or a new, when `toClusterId` is null) cluster. */
export function moveImages(store: ProjectStore, runId: number, imageIds: number[], toClusterId: number | null): { clusterId: number; moved: number } {
  requireRun(store, runId);
  const all = assignments(store, runId);
  const wanted = new Set(imageIds);
  const affected = all.filter((item) => wanted.has(item.imageId));
  if (affected.length === 0) throw new Error('None of the selected images is in this clustering run.');
  const target = toClusterId ?? Math.max(...all.map((item) => item.clusterId)) + 1;
  const touched = [...new Set([...affected.map((item) => item.clusterId), target])];
  // Every member of a touched cluster gets a new distance, so all of them are saved for Undo.
  const saved = all.filter((item) => touched.includes(item.clusterId));
  store.database.transaction(() => {
    recordEdit(store, runId, 'move', `Moved ${affected.length} images to cluster ${target}`, saved, [target]);
    const move = store.database.prepare('UPDATE assignments SET cluster_id = ? WHERE run_id = ? AND image_id = ?');
    for (const item of affected) move.run(target, runId, item.imageId);
    refreshDistances(store, runId, touched);
  })();
  evaluateRun(store, runId);
  return { clusterId: target, moved: affected.length };
}

/** Reverts the newest edit of a run; returns its description, or null when there is nothing to undo. */
export function undoLastEdit(store: ProjectStore, runId: number): string | null {
  const edit = store.database
    .prepare('SELECT id, description, previous FROM cluster_edits WHERE run_id = ? ORDER BY id DESC LIMIT 1')
    .get(runId) as { id: number; description: string; previous: string } | undefined;
  if (!edit) return null;
  const previous = JSON.parse(edit.previous) as PreviousState;
  store.database.transaction(() => {
    const restore = store.database.prepare('UPDATE assignments SET cluster_id = ?, distance = ? WHERE run_id = ? AND image_id = ?');
    for (const item of previous.assignments) restore.run(item.clusterId, item.distance, runId, item.imageId);
    for (const { clusterId, name } of previous.names) {
      if (name === null) store.database.prepare('DELETE FROM cluster_names WHERE run_id = ? AND cluster_id = ?').run(runId, clusterId);
      else store.renameCluster(runId, clusterId, name);
    }
    if (previous.labels) restoreLabels(store, previous.labels);
    if (previous.createdSpecies) {
      store.database
        .prepare('DELETE FROM species WHERE name = ? AND color IS NULL AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.species_id = species.id)')
        .run(previous.createdSpecies);
    }
    store.database.prepare('DELETE FROM cluster_edits WHERE id = ?').run(edit.id);
  })();
  rescore(store, runId);
  return edit.description;
}

/** Renames a cluster as an undoable edit; an empty name restores the default. */
export function renameClusterUndoable(store: ProjectStore, runId: number, clusterId: number, name: string): string {
  requireRun(store, runId);
  return store.database.transaction(() => {
    recordEdit(store, runId, 'rename', `Renamed cluster ${clusterId}`, [], [clusterId]);
    return store.renameCluster(runId, clusterId, name);
  })();
}

/** Number of edits that can be undone on a run. */
export function undoableEdits(store: ProjectStore, runId: number): number {
  return store.database.prepare('SELECT count(*) FROM cluster_edits WHERE run_id = ?').pluck().get(runId) as number;
}

/** Puts back labels exactly as they were stored (species, source and time), or removes labels that did not exist. */
function restoreLabels(store: ProjectStore, labels: PreviousLabel[]): void {
  const remove = store.database.prepare('DELETE FROM labels WHERE image_id = ?');
  const insertSpecies = store.database.prepare('INSERT INTO species (name) VALUES (?) ON CONFLICT (name) DO NOTHING');
  const restore = store.database.prepare(`
    INSERT INTO labels (image_id, species_id, source, created_at) VALUES (?, (SELECT id FROM species WHERE name = ?), ?, ?)
    ON CONFLICT (image_id) DO UPDATE SET species_id = excluded.species_id, source = excluded.source, created_at = excluded.created_at`);
  for (const label of labels) {
    if (label.species === null) {
      remove.run(label.imageId);
    } else {
      insertSpecies.run(label.species);
      restore.run(label.imageId, label.species, label.source ?? 'user', label.createdAt ?? nowIso());
    }
  }
}

/**
 * Labels every image of a cluster with a species (source `user`) and names the cluster after it, as one
 * undoable edit: Undo restores the previous labels and name. Images already labeled with this species keep
 * their label as it was. Returns the number of images whose label changed.
 */
export function markClusterAsSpecies(store: ProjectStore, runId: number, clusterId: number, species: string): number {
  requireRun(store, runId);
  const name = species.trim();
  if (name === '') throw new Error('Type a species name to label the cluster with.');
  const memberIds = assignments(store, runId)
    .filter((item) => item.clusterId === clusterId)
    .map((item) => item.imageId);
  if (memberIds.length === 0) throw new Error(`Cluster ${clusterId} has no images in this run; refresh the view.`);
  const current = store.database.prepare(
    'SELECT s.name AS species, l.source AS source, l.created_at AS createdAt FROM labels l JOIN species s ON s.id = l.species_id WHERE l.image_id = ?',
  );
  const previous: PreviousLabel[] = memberIds.map((imageId) => {
    const row = current.get(imageId) as { species: string; source: string; createdAt: string } | undefined;
    return row ? { imageId, ...row } : { imageId, species: null, source: null, createdAt: null };
  });
  const changed = previous.filter((label) => label.species !== name);
  const speciesExisted = store.database.prepare('SELECT 1 FROM species WHERE name = ?').get(name) !== undefined;
  store.database.transaction(() => {
    recordEdit(store, runId, 'mark-species', `Labeled ${changed.length} images of cluster ${clusterId} as ${name}`, [], [clusterId], {
      labels: changed,
      createdSpecies: speciesExisted ? null : name,
    });
    store.setLabels(changed.map((label) => ({ imageId: label.imageId, species: name })), 'user');
    store.renameCluster(runId, clusterId, name);
  })();
  rescore(store, runId);
  return changed.length;
}
