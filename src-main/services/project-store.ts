/** Typed queries over a project database. One instance per connection; no business logic here. */
import type { ClusterMethod, ClusterMetrics, ClusterRunInfo, ImageFilter, ImageView } from '../contract/api';
import { nowIso, type ProjectDatabase } from '../db/database';

/** An image row as stored. */
export interface StoredImage {
  id: number;
  path: string;
  fileName: string;
  folder: string;
  sha256: string | null;
  sizeBytes: number | null;
  status: 'ok' | 'error';
  error: string | null;
}

/** What import writes for one file. */
export interface ImageRecord {
  path: string;
  fileName: string;
  folder: string;
  sha256: string | null;
  sizeBytes: number | null;
  width: number | null;
  height: number | null;
  status: 'ok' | 'error';
  error: string | null;
}

/** Where a label came from: a folder name, a CSV, a person, or the model. */
export type LabelSource = 'folder' | 'csv' | 'user' | 'model';

/** What a training run trains at the moment: the backbone's last block (first, when asked) or the adapter. */
export type TrainingRunStage = 'last-block' | 'adapter';

/** The species a run trains on and those it holds out for validation. */
export interface TrainingSplit {
  train: string[];
  validation: string[];
  /** With too few species to hold any out: what cross-validation over them found (train-service.ts), once done. */
  crossValidation?: CrossValidation;
}

/** Cross-validation over the training species, 2 held out at a time. */
export interface CrossValidation {
  folds: number;
  /** Mean validation cluster accuracy over the folds after each epoch. */
  epochCa: number[];
  /** The same for the whitening alone, with the chosen epoch's K-means seed. */
  whiteningCa: number;
  /** Epochs the final run trains: the best of `epochCa` (the first of equals). */
  epochs: number;
}

/** A stored training run that has not finished (see migration 6). */
export interface StoredTrainingRun {
  id: number;
  /** The settings it was started with (JSON). */
  settings: unknown;
  split: TrainingSplit;
  /** What it trains on (labels, model, input sizes): a resume refuses when this changed. */
  fingerprint: string;
  stage: TrainingRunStage;
  /** Epochs of `stage` finished and stored in `state`. */
  epoch: number;
  blockResult: Buffer | null;
  state: Buffer | null;
  startedAt: string;
  updatedAt: string;
}

/** A row of the per-image export. */
export interface ExportRow {
  path: string;
  fileName: string;
  sha256: string | null;
  status: string;
  error: string | null;
  clusterId: number | null;
  clusterName: string | null;
  distance: number | null;
  speciesLabel: string | null;
  labelSource: string | null;
}

interface RunRow {
  id: number;
  method: ClusterMethod;
  k: number;
  seed: number;
  model_id: string;
  created_at: string;
  metrics: string | null;
  undoable?: number;
}

function toRunInfo(row: RunRow): ClusterRunInfo {
  return {
    id: row.id,
    method: row.method,
    k: row.k,
    seed: row.seed,
    modelId: row.model_id,
    createdAt: row.created_at,
    metrics: row.metrics ? (JSON.parse(row.metrics) as ClusterMetrics) : null,
    undoable: row.undoable ?? 0,
  };
}

/** Runs with their count of undoable edits, newest first. */
const RUNS_NEWEST_FIRST =
  'SELECT r.*, (SELECT count(*) FROM cluster_edits e WHERE e.run_id = r.id) AS undoable FROM cluster_runs r ORDER BY r.id DESC';

/** Default display name of a cluster that has not been renamed. */
export function defaultClusterName(clusterId: number): string {
  return `Cluster ${clusterId}`;
}

/** Reads and writes a project's tables. */
export class ProjectStore {
  constructor(readonly database: ProjectDatabase) {}

  /** Inserts or replaces images by path, in one transaction; returns their ids in order. */
  upsertImages(records: ImageRecord[]): number[] {
    const statement = this.database.prepare(`
      INSERT INTO images (path, file_name, folder, sha256, size_bytes, width, height, status, error, imported_at)
      VALUES (@path, @fileName, @folder, @sha256, @sizeBytes, @width, @height, @status, @error, @importedAt)
      ON CONFLICT (path) DO UPDATE SET sha256 = excluded.sha256, size_bytes = excluded.size_bytes,
        width = excluded.width, height = excluded.height, status = excluded.status, error = excluded.error,
        imported_at = excluded.imported_at
      RETURNING id`);
    const importedAt = nowIso();
    return this.database.transaction(() =>
      records.map((record) => (statement.get({ ...record, importedAt }) as { id: number }).id),
    )();
  }

  /** Sets labels for images, creating species as needed; replaces an earlier label of each image. */
  setLabels(labels: { imageId: number; species: string }[], source: LabelSource): void {
    const insertSpecies = this.database.prepare('INSERT INTO species (name) VALUES (?) ON CONFLICT (name) DO NOTHING');
    const speciesId = this.database.prepare('SELECT id FROM species WHERE name = ?').pluck();
    const upsert = this.database.prepare(`
      INSERT INTO labels (image_id, species_id, source, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (image_id) DO UPDATE SET species_id = excluded.species_id, source = excluded.source, created_at = excluded.created_at`);
    const createdAt = nowIso();
    this.database.transaction(() => {
      for (const { imageId, species } of labels) {
        insertSpecies.run(species);
        upsert.run(imageId, speciesId.get(species), source, createdAt);
      }
    })();
  }

  /** Removes the labels of the given images. */
  clearLabels(imageIds: number[]): void {
    const statement = this.database.prepare('DELETE FROM labels WHERE image_id = ?');
    this.database.transaction(() => {
      for (const imageId of imageIds) statement.run(imageId);
    })();
  }

  /**
   * The palette's species: those that label at least one image or were given a colour, with how many images
   * and the colour (`#rrggbb`, or null for the automatic one), oldest first so number keys stay put.
   */
  speciesCounts(): { name: string; images: number; color: string | null }[] {
    return this.database
      .prepare(`SELECT s.name AS name, count(l.image_id) AS images, s.color AS color FROM species s
        LEFT JOIN labels l ON l.species_id = s.id GROUP BY s.id HAVING images > 0 OR s.color IS NOT NULL ORDER BY s.id`)
      .all() as { name: string; images: number; color: string | null }[];
  }

  /** Counts for the project overview. */
  counts(): { imageCount: number; failedCount: number; labeledCount: number; speciesCount: number } {
    return this.database
      .prepare(`SELECT
        (SELECT count(*) FROM images) AS imageCount,
        (SELECT count(*) FROM images WHERE status = 'error') AS failedCount,
        (SELECT count(*) FROM labels) AS labeledCount,
        (SELECT count(*) FROM species WHERE id IN (SELECT species_id FROM labels)) AS speciesCount`)
      .get() as { imageCount: number; failedCount: number; labeledCount: number; speciesCount: number };
  }

  /**
   * Number of readable images with an embedding from `modelId`. INDEXED BY, here and below: the planner
   * picks the primary key, whose rows carry the vectors, and that is 10x slower at 50,000 photos.
   */
  embeddedCount(modelId: string): number {
    return this.database
      .prepare(`SELECT count(*) FROM images i WHERE i.status = 'ok'
        AND EXISTS (SELECT 1 FROM embeddings e INDEXED BY embeddings_model WHERE e.model_id = ? AND e.sha256 = i.sha256)`)
      .pluck()
      .get(modelId) as number;
  }

  /** Readable images whose content has no embedding from `modelId` yet, one row per distinct content hash. */
  imagesMissingEmbedding(modelId: string): { path: string; sha256: string }[] {
    return this.database
      .prepare(`SELECT min(path) AS path, sha256 FROM images i WHERE status = 'ok'
        AND NOT EXISTS (SELECT 1 FROM embeddings e INDEXED BY embeddings_model WHERE e.model_id = ? AND e.sha256 = i.sha256)
        GROUP BY sha256 ORDER BY min(id)`)
      .all(modelId) as { path: string; sha256: string }[];
  }

  /** Marks every image with this content as unreadable, with a reason. */
  markContentUnreadable(sha256: string, reason: string): void {
    this.database.prepare("UPDATE images SET status = 'error', error = ? WHERE sha256 = ?").run(reason, sha256);
  }

  /** Records a backbone so runs can name it. */
  saveModel(model: { id: string; name: string; source: string; format: string; dims: number; preprocessing: unknown }): void {
    this.database
      .prepare(`INSERT INTO models (id, name, source, format, dims, preprocessing, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET source = excluded.source`)
      .run(model.id, model.name, model.source, model.format, model.dims, JSON.stringify(model.preprocessing), nowIso());
  }

  /** Stores embeddings in one transaction. */
  putEmbeddings(modelId: string, dims: number, items: { sha256: string; vector: Float32Array }[]): void {
    const statement = this.database.prepare(
      'INSERT OR REPLACE INTO embeddings (sha256, model_id, dims, vector) VALUES (?, ?, ?, ?)',
    );
    this.database.transaction(() => {
      for (const { sha256, vector } of items) {
        statement.run(sha256, modelId, dims, Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
      }
    })();
  }

  /** Embeddings of every readable image (by image id, in id order) for one model. */
  embeddingsForImages(modelId: string): { imageIds: number[]; dims: number; data: Float32Array } {
    const rows = this.database
      .prepare(`SELECT i.id AS imageId, e.dims AS dims, e.vector AS vector FROM images i
        JOIN embeddings e ON e.sha256 = i.sha256 AND e.model_id = ? WHERE i.status = 'ok' ORDER BY i.id`)
      .all(modelId) as { imageId: number; dims: number; vector: Buffer }[];
    const dims = rows[0]?.dims ?? 0;
    const data = new Float32Array(rows.length * dims);
    rows.forEach((row, index) => {
      data.set(new Float32Array(row.vector.buffer, row.vector.byteOffset, dims), index * dims);
    });
    return { imageIds: rows.map((row) => row.imageId), dims, data };
  }

  /** Saves a clustering run and its assignments (cluster ids 1-based) in one transaction; returns the run id. */
  saveRun(
    run: { method: ClusterMethod; k: number; seed: number; modelId: string; parameters: unknown },
    assignments: { imageId: number; clusterId: number; distance: number }[],
  ): number {
    return this.database.transaction(() => {
      const runId = Number(
        this.database
          .prepare('INSERT INTO cluster_runs (method, k, seed, model_id, parameters, created_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(run.method, run.k, run.seed, run.modelId, JSON.stringify(run.parameters), nowIso()).lastInsertRowid,
      );
      const insert = this.database.prepare('INSERT INTO assignments (run_id, image_id, cluster_id, distance) VALUES (?, ?, ?, ?)');
      for (const item of assignments) insert.run(runId, item.imageId, item.clusterId, item.distance);
      return runId;
    })();
  }

  /** Stores a run's scores. */
  setRunMetrics(runId: number, metrics: ClusterMetrics): void {
    this.database.prepare('UPDATE cluster_runs SET metrics = ? WHERE id = ?').run(JSON.stringify(metrics), runId);
  }

  /** The newest run, or null. */
  latestRun(): ClusterRunInfo | null {
    const row = this.database.prepare(`${RUNS_NEWEST_FIRST} LIMIT 1`).get() as RunRow | undefined;
    return row ? toRunInfo(row) : null;
  }

  /** Every run, newest first, with its scores and undoable edits: for before/after comparisons. */
  listRuns(): ClusterRunInfo[] {
    return (this.database.prepare(RUNS_NEWEST_FIRST).all() as RunRow[]).map(toRunInfo);
  }

  /** A run by id, or null. */
  run(runId: number): ClusterRunInfo | null {
    const row = this.database.prepare('SELECT * FROM cluster_runs WHERE id = ?').get(runId) as RunRow | undefined;
    return row ? toRunInfo(row) : null;
  }

  /** Pairs of (known species label, cluster id) for every labeled image assigned in a run. */
  labeledAssignments(runId: number): { species: string; clusterId: number }[] {
    return this.database
      .prepare(`SELECT s.name AS species, a.cluster_id AS clusterId FROM assignments a
        JOIN labels l ON l.image_id = a.image_id JOIN species s ON s.id = l.species_id
        WHERE a.run_id = ? ORDER BY a.image_id`)
      .all(runId) as { species: string; clusterId: number }[];
  }

  /** Per-cluster members of a run, nearest to the center first. */
  clusterMembers(runId: number): Map<number, { imageId: number; distance: number; species: string | null }[]> {
    const rows = this.database
      .prepare(`SELECT a.cluster_id AS clusterId, a.image_id AS imageId, a.distance AS distance, s.name AS species
        FROM assignments a LEFT JOIN labels l ON l.image_id = a.image_id LEFT JOIN species s ON s.id = l.species_id
        WHERE a.run_id = ? ORDER BY a.cluster_id, a.distance`)
      .all(runId) as { clusterId: number; imageId: number; distance: number; species: string | null }[];
    const members = new Map<number, { imageId: number; distance: number; species: string | null }[]>();
    for (const row of rows) {
      let list = members.get(row.clusterId);
      if (!list) members.set(row.clusterId, (list = []));
      list.push({ imageId: row.imageId, distance: row.distance, species: row.species });
    }
    return members;
  }

  /** Custom cluster names of a run. */
  clusterNames(runId: number): Map<number, string> {
    const rows = this.database.prepare('SELECT cluster_id, name FROM cluster_names WHERE run_id = ?').all(runId) as {
      cluster_id: number;
      name: string;
    }[];
    return new Map(rows.map((row) => [row.cluster_id, row.name]));
  }

  /** Renames a cluster; an empty name restores the default. */
  renameCluster(runId: number, clusterId: number, name: string): string {
    const trimmed = name.trim();
    if (trimmed === '') {
      this.database.prepare('DELETE FROM cluster_names WHERE run_id = ? AND cluster_id = ?').run(runId, clusterId);
      return defaultClusterName(clusterId);
    }
    this.database
      .prepare('INSERT INTO cluster_names (run_id, cluster_id, name) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET name = excluded.name')
      .run(runId, clusterId, trimmed);
    return trimmed;
  }

  /**
   * A page of the images `filter` keeps, in id order, with their labels and their cluster in the latest run,
   * and how many it keeps in all.
   */
  listImages(offset: number, limit: number, filter: ImageFilter = {}): { total: number; images: ImageView[] } {
    const { where, parameters } = this.#imageFilter(filter);
    const total = this.database.prepare(`SELECT count(*) FROM images i ${where}`).pluck().get(parameters) as number;
    // The page's ids are found on images alone, then joined: an OFFSET deep into 50,000 rows skips bare rowids.
    const images = this.database
      .prepare(`WITH page AS (SELECT i.id FROM images i ${where} ORDER BY i.id LIMIT @limit OFFSET @offset)
        SELECT i.id, i.path, i.file_name AS fileName, i.status, i.error, s.name AS speciesLabel,
          l.source AS labelSource, a.cluster_id AS clusterId
        FROM page JOIN images i ON i.id = page.id LEFT JOIN labels l ON l.image_id = i.id
        LEFT JOIN species s ON s.id = l.species_id LEFT JOIN assignments a ON a.run_id = @runId AND a.image_id = i.id
        ORDER BY i.id`)
      .all({ ...parameters, limit, offset }) as ImageView[];
    return { total, images };
  }

  /** Every image id `filter` keeps, in the order `listImages` gives them. */
  imageIds(filter: ImageFilter = {}): number[] {
    const { where, parameters } = this.#imageFilter(filter);
    return this.database.prepare(`SELECT i.id FROM images i ${where} ORDER BY i.id`).pluck().all(parameters) as number[];
  }

  // The WHERE clause of a library filter over `images i`, with its named parameters (never spliced text).
  // Each condition is a lookup by index (labels by image or species, assignments by run and cluster).
  #imageFilter(filter: ImageFilter): { where: string; parameters: Record<string, unknown> } {
    const conditions: string[] = [];
    const parameters: Record<string, unknown> = { runId: this.latestRun()?.id ?? -1 };
    if (filter.clusterId !== undefined) {
      conditions.push('i.id IN (SELECT image_id FROM assignments WHERE run_id = @runId AND cluster_id = @clusterId)');
      parameters.clusterId = filter.clusterId;
    }
    if (filter.status !== undefined) {
      conditions.push('i.status = @status');
      parameters.status = filter.status;
    }
    if (filter.species !== undefined) {
      conditions.push('i.id IN (SELECT l.image_id FROM labels l JOIN species s ON s.id = l.species_id WHERE s.name = @species)');
      parameters.species = filter.species;
    }
    if (filter.labeled !== undefined) {
      conditions.push(`i.id ${filter.labeled ? '' : 'NOT '}IN (SELECT image_id FROM labels)`);
    }
    const search = filter.search?.trim() ?? '';
    if (search !== '') {
      // LIKE folds ASCII case; `\` escapes the user's own % and _ so they match literally.
      conditions.push("i.file_name LIKE @search ESCAPE '\\'");
      parameters.search = `%${search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
    }
    return { where: conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '', parameters };
  }

  /** One image's stored row, or null. */
  image(imageId: number): StoredImage | null {
    const row = this.database
      .prepare(`SELECT id, path, file_name AS fileName, folder, sha256, size_bytes AS sizeBytes, status, error FROM images WHERE id = ?`)
      .get(imageId) as StoredImage | undefined;
    return row ?? null;
  }

  /** Every image with its assignment in run `runId` (or none), for the CSV export. */
  exportRows(runId: number | null): ExportRow[] {
    return this.database
      .prepare(`SELECT i.path, i.file_name AS fileName, i.sha256, i.status, i.error, a.cluster_id AS clusterId,
          n.name AS clusterName, a.distance, s.name AS speciesLabel, l.source AS labelSource
        FROM images i LEFT JOIN assignments a ON a.image_id = i.id AND a.run_id = @runId
        LEFT JOIN cluster_names n ON n.run_id = @runId AND n.cluster_id = a.cluster_id
        LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN species s ON s.id = l.species_id
        ORDER BY i.id`)
      .all({ runId: runId ?? -1 }) as ExportRow[];
  }

  /** Saves a trained adapter; returns its checkpoint id. */
  saveCheckpoint(checkpoint: { modelId: string; options: unknown; history: unknown; bestEpoch: number; weights: Buffer }): number {
    return Number(
      this.database
        .prepare('INSERT INTO checkpoints (model_id, created_at, options, history, best_epoch, weights) VALUES (?, ?, ?, ?, ?, ?)')
        .run(checkpoint.modelId, nowIso(), JSON.stringify(checkpoint.options), JSON.stringify(checkpoint.history), checkpoint.bestEpoch, checkpoint.weights)
        .lastInsertRowid,
    );
  }

  /** A checkpoint's weights and the backbone it was trained on, or null. */
  checkpoint(checkpointId: number): { id: number; modelId: string; weights: Buffer; history: unknown; bestEpoch: number } | null {
    const row = this.database
      .prepare('SELECT id, model_id AS modelId, weights, history, best_epoch AS bestEpoch FROM checkpoints WHERE id = ?')
      .get(checkpointId) as { id: number; modelId: string; weights: Buffer; history: string; bestEpoch: number } | undefined;
    return row ? { ...row, history: JSON.parse(row.history) } : null;
  }

  /** Starts storing a training run (forgetting any earlier stopped one); returns its id. */
  startTrainingRun(run: { settings: unknown; split: TrainingSplit; fingerprint: string; stage: TrainingRunStage }): number {
    return this.database.transaction(() => {
      this.database.prepare('DELETE FROM training_runs').run();
      const now = nowIso();
      return Number(
        this.database
          .prepare('INSERT INTO training_runs (settings, split, fingerprint, stage, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
          .run(JSON.stringify(run.settings), JSON.stringify(run.split), run.fingerprint, run.stage, now, now).lastInsertRowid,
      );
    })();
  }

  /** Stores where a training run stands after a finished epoch (`blockResult` once the last-block stage is done). */
  saveTrainingState(runId: number, update: { stage: TrainingRunStage; epoch: number; state: Buffer | null; blockResult?: Buffer }): void {
    const { stage, epoch, state, blockResult } = update;
    this.database
      .prepare('UPDATE training_runs SET stage = ?, epoch = ?, state = ?, block_result = COALESCE(?, block_result), updated_at = ? WHERE id = ?')
      .run(stage, epoch, state, blockResult ?? null, nowIso(), runId);
  }

  /** Stores a run's split again, with what its cross-validation found. */
  saveTrainingSplit(runId: number, split: TrainingSplit): void {
    this.database.prepare('UPDATE training_runs SET split = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(split), nowIso(), runId);
  }

  /** Forgets a finished training run. */
  finishTrainingRun(runId: number): void {
    this.database.prepare('DELETE FROM training_runs WHERE id = ?').run(runId);
  }

  /** The training run that started last and has not finished (cancelled, failed or cut off), or null. */
  stoppedTrainingRun(): StoredTrainingRun | null {
    const row = this.database
      .prepare(`SELECT id, settings, split, fingerprint, stage, epoch, block_result AS blockResult, state, started_at AS startedAt, updated_at AS updatedAt
        FROM training_runs ORDER BY id DESC LIMIT 1`)
      .get() as (Omit<StoredTrainingRun, 'settings' | 'split'> & { settings: string; split: string }) | undefined;
    return row ? { ...row, settings: JSON.parse(row.settings), split: JSON.parse(row.split) as TrainingSplit } : null;
  }

  /** `sha256:species` of every human-labeled image, readable or not, sorted: what a training run was given. */
  labelKeys(): string[] {
    return (
      this.database
        .prepare(`SELECT i.sha256 || ':' || s.name AS key FROM labels l JOIN images i ON i.id = l.image_id
          JOIN species s ON s.id = l.species_id WHERE l.source != 'model' ORDER BY key`)
        .all() as { key: string }[]
    ).map((row) => row.key);
  }

  /** Labeled readable images (human labels only: folder, csv, user) with their species names. */
  labeledImages(): { imageId: number; sha256: string; species: string }[] {
    return this.database
      .prepare(`SELECT i.id AS imageId, i.sha256, s.name AS species FROM labels l JOIN images i ON i.id = l.image_id
        JOIN species s ON s.id = l.species_id WHERE i.status = 'ok' AND l.source != 'model' ORDER BY i.id`)
      .all() as { imageId: number; sha256: string; species: string }[];
  }

  /** Every image's file name, cluster in run `runId` (or null) and species label (or null), for the map. */
  mapAnnotations(runId: number): Map<number, { fileName: string; clusterId: number | null; species: string | null }> {
    const rows = this.database
      .prepare(`SELECT i.id AS imageId, i.file_name AS fileName, a.cluster_id AS clusterId, s.name AS species FROM images i
        LEFT JOIN assignments a ON a.image_id = i.id AND a.run_id = ?
        LEFT JOIN labels l ON l.image_id = i.id LEFT JOIN species s ON s.id = l.species_id`)
      .all(runId) as { imageId: number; fileName: string; clusterId: number | null; species: string | null }[];
    return new Map(rows.map((row) => [row.imageId, { fileName: row.fileName, clusterId: row.clusterId, species: row.species }]));
  }

  /** Reads a setting, or null. */
  setting(key: string): string | null {
    return (this.database.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(key) as string | undefined) ?? null;
  }

  /** Writes a setting. */
  setSetting(key: string, value: string): void {
    this.database.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value').run(key, value);
  }
}
