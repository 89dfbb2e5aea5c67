/** Numbered schema migrations; `PRAGMA user_version` records how many have run. Never edit a shipped one: add the next. */
export const MIGRATIONS: readonly string[] = [
  // 1: the first schema.
  `
  CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    file_name TEXT NOT NULL,
    folder TEXT NOT NULL,
    sha256 TEXT,
    size_bytes INTEGER,
    width INTEGER,
    height INTEGER,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error TEXT,
    imported_at TEXT NOT NULL
  );
  CREATE INDEX images_sha256 ON images (sha256);
  CREATE TABLE species (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    color TEXT
  );
  CREATE TABLE labels (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    species_id INTEGER NOT NULL REFERENCES species (id) ON DELETE CASCADE,
    source TEXT NOT NULL CHECK (source IN ('folder', 'csv', 'user', 'model')),
    created_at TEXT NOT NULL
  );
  CREATE TABLE models (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    dims INTEGER NOT NULL,
    preprocessing TEXT NOT NULL,
    added_at TEXT NOT NULL
  );
  CREATE TABLE embeddings (
    sha256 TEXT NOT NULL,
    model_id TEXT NOT NULL,
    dims INTEGER NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (sha256, model_id)
  ) WITHOUT ROWID;
  CREATE TABLE cluster_runs (
    id INTEGER PRIMARY KEY,
    method TEXT NOT NULL,
    k INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    model_id TEXT NOT NULL,
    parameters TEXT NOT NULL,
    metrics TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE assignments (
    run_id INTEGER NOT NULL REFERENCES cluster_runs (id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    cluster_id INTEGER NOT NULL,
    distance REAL NOT NULL,
    PRIMARY KEY (run_id, image_id)
  ) WITHOUT ROWID;
  CREATE INDEX assignments_cluster ON assignments (run_id, cluster_id);
  CREATE TABLE cluster_names (
    run_id INTEGER NOT NULL REFERENCES cluster_runs (id) ON DELETE CASCADE,
    cluster_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (run_id, cluster_id)
  ) WITHOUT ROWID;
  CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed', 'interrupted')),
    parameters TEXT NOT NULL,
    fraction REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    error TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // 2: fine-tuned adapters (checkpoints) and which embedding space clustering uses.
  `
  CREATE TABLE checkpoints (
    id INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    options TEXT NOT NULL,
    history TEXT NOT NULL,
    best_epoch INTEGER NOT NULL,
    weights BLOB NOT NULL
  );
  `,
  // 3: undoable edits of a clustering run (merge, split, move): the assignments before each edit.
  `
  CREATE TABLE cluster_edits (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES cluster_runs (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    description TEXT NOT NULL,
    previous TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  `,
  // 4: library filters: images by species label (the filter and the palette counts) and by status, without a scan.
  // (species.color, the palette colour '#rrggbb', has existed since 1.)
  `
  CREATE INDEX labels_species ON labels (species_id);
  CREATE INDEX images_status ON images (status, id);
  `,
  // 5: "is this photo embedded by model m?" without reading the vectors: the table's own b-tree holds each
  // 5 KB vector in its rows, so counting 50,000 embedded photos through it took 3-4 s; this index is keys only.
  `
  CREATE INDEX embeddings_model ON embeddings (model_id, sha256);
  `,
  // 6: a training run's state after its last finished epoch, so a cancelled or crashed run can be resumed
  // (the latest run only; its row goes when it finishes or a new run starts). `split` holds the training and
  // validation species (JSON), kept as chosen when the run started. `block_result` holds the finished
  // last-block stage, `state` the current stage's trainer state (training-state.ts).
  `
  CREATE TABLE training_runs (
    id INTEGER PRIMARY KEY,
    settings TEXT NOT NULL,
    split TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('last-block', 'adapter')),
    epoch INTEGER NOT NULL DEFAULT 0,
    block_result BLOB,
    state BLOB,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
];
