/**
 * The one typed contract between the renderer and the main process (or the local bridge): every channel,
 * its request and reply, and the events pushed to the renderer. Types only; the runtime request schemas
 * live in `schemas.ts` beside it.
 */

/**
 * Clustering methods the app offers: K-means, spectral clustering on the kNN graph, K-means seeded by the
 * labeled images (each labeled species keeps a cluster; the rest are candidate new species), Gaussian
 * mixtures (diagonal), agglomerative (Ward on the kNN graph) and HDBSCAN (finds k itself; `k` is ignored).
 */
export type ClusterMethod = 'kmeans' | 'spectral' | 'seeded' | 'gmm' | 'agglomerative' | 'hdbscan';

/** How a number of clusters is estimated: the eigengap of the kNN graph's Laplacian, the mean silhouette of K-means, or K-means' stability across subsamples. */
export type KCriterionName = 'eigengap' | 'silhouette' | 'stability';

/** A suggested number of clusters with its evidence: the criterion's value per candidate k, for a plot. */
export interface KSuggestion {
  k: number;
  criterion: KCriterionName;
  /** Candidates, ascending; for the eigengap, 1..n (the index of each eigenvalue). */
  ks: number[];
  /** Eigenvalues (smallest first), mean silhouettes, or mean pairwise ARI across subsamples, per entry of `ks`. */
  values: number[];
  images: number;
}

/** Which images the library shows; every field narrows the set, and none means all images. */
export interface ImageFilter {
  clusterId?: number | undefined;
  status?: 'ok' | 'error' | undefined;
  /** Only images labeled with this species. */
  species?: string | undefined;
  /** true: only labeled images; false: only unlabeled ones. */
  labeled?: boolean | undefined;
  /** Part of the file name, case-insensitive. */
  search?: string | undefined;
}

/** A 2-D map of the embeddings, one point per embedded image, in columns. */
export interface MapPoints {
  method: 'pca' | 'umap';
  /** The embedding space drawn (the latest run's, else the default backbone's). */
  modelId: string;
  imageIds: number[];
  /** File names, in the order of `imageIds`, for the hover card. */
  fileNames: string[];
  x: number[];
  y: number[];
  /** Cluster in the latest run, or null. */
  clusterIds: (number | null)[];
  species: (string | null)[];
}

/** Clusters of the latest run against known species: `counts[c][s]` images of species s in cluster c. */
export interface Confusion {
  runId: number | null;
  species: string[];
  clusters: { clusterId: number; name: string; size: number }[];
  counts: number[][];
  /** Unlabeled images per cluster, in the order of `clusters`. */
  unlabeled: number[];
}

/** What a labels CSV matched (and, unless a dry run, applied). */
export interface LabelImportResult {
  matched: number;
  unmatched: number;
  ambiguous: number;
  species: { species: string; imageCount: number }[];
  /** Images whose label was written: 0 on a dry run. */
  changed: number;
  /** The first few rows that matched no image or several, for the user to fix. */
  problems: { row: number; reference: string; reason: string }[];
}

/** Kinds of long-running job. */
export type JobKind = 'import' | 'embed' | 'cluster' | 'train' | 'model';

/** An image model the project can embed with. */
export interface ModelInfo {
  /** Registry id, or `bundled` for the model that ships with the app. */
  id: string;
  name: string;
  format: 'onnx' | 'tfjs';
  /** Where it came from: a path or URL (registry) or the bundled file. */
  source: string;
  sha256: string | null;
  /** The path the backbone is loaded from. */
  path: string;
  /** True for the model the project embeds with now. */
  inUse: boolean;
}

/** One image as the renderer shows it. */
export interface ImageView {
  id: number;
  path: string;
  fileName: string;
  status: 'ok' | 'error';
  error: string | null;
  speciesLabel: string | null;
  labelSource: string | null;
  /** Cluster in the latest run, 1-based, or null before clustering. */
  clusterId: number | null;
}

/** The project's state in one look. */
export interface ProjectInfo {
  folder: string;
  imageCount: number;
  failedCount: number;
  embeddedCount: number;
  labeledCount: number;
  speciesCount: number;
  /** The backbone clustering uses when none is named, or null when no model could be found. */
  model: { path: string; name: string } | null;
  /** True in Electron, where `Import folder` opens the system's folder dialog. */
  canPickFolders: boolean;
  /** Input sizes whose features are averaged (`embedding.scales`), or null for the model's own size. */
  scales: number[] | null;
  /** A training run that was cancelled (or cut off) after finishing an epoch and can be resumed, or null. */
  stoppedTraining: StoppedTraining | null;
}

/** Where a stopped training run stands. */
export interface StoppedTraining {
  trainable: 'head' | 'last-blocks' | 'all';
  /** The stage it was in: the model's last block (trained first with 'last-blocks') or the adapter. */
  stage: 'last-block' | 'adapter';
  /** Epochs of `stage` finished (kept in the project). */
  epoch: number;
  epochs: number;
  /** When its last epoch finished (ISO 8601). */
  updatedAt: string;
}

/** The paper's scores against known labels (Bjerge et al. 2025, section 3.4). */
export interface ClusterMetrics {
  ca: number;
  nmi: number;
  ami: number;
  ari: number;
  /** Hungarian accuracy (best one-to-one matching of clusters to labels); absent in runs scored before it existed. */
  hungarian?: number;
  /** Images scored: those with both a label and a cluster. */
  count: number;
}

/** One clustering run. */
export interface ClusterRunInfo {
  id: number;
  method: ClusterMethod;
  k: number;
  seed: number;
  modelId: string;
  createdAt: string;
  metrics: ClusterMetrics | null;
  /** Edits (rename, merge, split, move) that Undo can revert, newest first. */
  undoable: number;
}

/** One cluster card. */
export interface ClusterCard {
  /** 1-based cluster number within its run. */
  clusterId: number;
  name: string;
  size: number;
  /** Images closest to the center first, at most 12. */
  imageIds: number[];
  /** The images farthest from the center, farthest first, at most 4: the first to check for mistakes. */
  outlierIds: number[];
  /** Most common known label in the cluster and its share of the labeled members, when labels exist. */
  topSpecies: string | null;
  purity: number | null;
}

/** Progress of a running job; `fraction` in 0..1. */
export interface JobProgress {
  jobId: string;
  kind: JobKind;
  fraction: number;
  message: string;
}

/** How a job ended. */
export interface JobFinished {
  jobId: string;
  kind: JobKind;
  status: 'done' | 'cancelled' | 'failed';
  message: string;
}

/** Fine-tuning settings the UI may set; anything left out takes the defaults. */
export interface TrainingSettings {
  way?: number | undefined;
  shot?: number | undefined;
  query?: number | undefined;
  tasksPerEpoch?: number | undefined;
  epochs?: number | undefined;
  alpha?: number | undefined;
  loss?: 'proto' | 'scatter' | 'kcl' | 'mcl' | undefined;
  learningRate?: number | undefined;
  seed?: number | undefined;
  /** 'head': the adapter over frozen features; 'last-blocks': the model's last block first, then the adapter. */
  trainable?: 'head' | 'last-blocks' | undefined;
}

/** One finished training epoch, for the live curves. */
export interface TrainingEpoch {
  jobId: string;
  /** What the epoch trained: the model's last block ('Last block and adapter' trains it first) or the adapter. */
  stage: 'last-block' | 'adapter';
  epoch: number;
  loss: number;
  /** Query accuracy of the prototypical classifier within episodes (NaN for pairwise losses). */
  accuracy: number;
  /** K-means cluster accuracy on held-out validation species (NaN when none were held out). */
  validationCa: number;
  learningRate: number;
}

/** Every request channel: `feature:verb` to { request, reply }. */
export interface ApiChannels {
  'project:info': { request: Record<string, never>; reply: ProjectInfo };
  'images:list': {
    request: ImageFilter & { offset: number; limit: number };
    reply: { total: number; images: ImageView[] };
  };
  /** Every image id the filter keeps, in grid order: for "select all" over a virtualised grid. */
  'images:ids': { request: ImageFilter; reply: { ids: number[] } };
  'map:points': { request: { method?: 'pca' | 'umap' | undefined; seed?: number | undefined }; reply: MapPoints };
  'evaluate:confusion': { request: Record<string, never>; reply: Confusion };
  'import:pick-folder': { request: Record<string, never>; reply: { folder: string | null } };
  'import:start': { request: { folder: string; labelsFromFolders: boolean }; reply: { jobId: string } };
  'clusters:run': {
    /** `tta`: average each photo's features with its mirror image's (remembered for the project, as `scales` is). */
    request: {
      method: ClusterMethod;
      k: number;
      seed?: number | undefined;
      tta?: boolean | undefined;
      /** Input sizes in px whose features are averaged, or null for the model's own size (remembered for the project). */
      scales?: number[] | null | undefined;
    };
    reply: { jobId: string };
  };
  'clusters:suggest-k': {
    request: { maxK?: number | undefined; criterion?: KCriterionName | undefined };
    reply: KSuggestion;
  };
  'clusters:latest': { request: Record<string, never>; reply: { run: ClusterRunInfo | null; clusters: ClusterCard[] } };
  'clusters:rename': { request: { runId: number; clusterId: number; name: string }; reply: { name: string } };
  'clusters:merge': { request: { runId: number; clusterIds: number[] }; reply: { clusterId: number; moved: number } };
  'clusters:split': { request: { runId: number; clusterId: number; parts?: number | undefined }; reply: { clusterIds: number[] } };
  'clusters:move': { request: { runId: number; imageIds: number[]; toClusterId: number | null }; reply: { clusterId: number; moved: number } };
  'clusters:undo': { request: { runId: number }; reply: { undone: string | null } };
  /** Every cluster run of the project, newest first: for before/after comparisons. */
  'clusters:runs': { request: Record<string, never>; reply: { runs: ClusterRunInfo[] } };
  /** Labels every image of a cluster with a species (a new one or a known one). */
  'clusters:mark-species': { request: { runId: number; clusterId: number; species: string }; reply: { changed: number } };
  'species:list': { request: Record<string, never>; reply: { species: { name: string; images: number; color: string | null }[] } };
  /** Renames a species everywhere (merging into `to` when it exists). */
  'species:rename': { request: { from: string; to: string }; reply: { changed: number } };
  /** Sets a species' palette colour, `#rrggbb`, or null for the automatic one. */
  'species:set-color': { request: { name: string; color: string | null }; reply: { color: string | null } };
  'labels:import-csv': { request: { csv: string; dryRun?: boolean | undefined }; reply: LabelImportResult };
  'labels:set': {
    request: { items: { imageId: number; species: string | null; source?: 'folder' | 'csv' | 'user' | undefined }[] };
    reply: { changed: number };
  };
  'export:csv': { request: Record<string, never>; reply: { fileName: string; csv: string; rows: number } };
  'training:start': { request: TrainingSettings; reply: { jobId: string } };
  /** Goes on with the stopped run (`ProjectInfo.stoppedTraining`) from its last finished epoch, with its own settings. */
  'training:resume': { request: Record<string, never>; reply: { jobId: string } };
  /** The bundled default and every model added on this machine, with the one in use. */
  'models:list': { request: Record<string, never>; reply: { models: ModelInfo[]; runtime: string } };
  /** Adds a model from a file or folder path (offline) or an http(s) URL (downloaded with progress and resume) as a job. */
  'models:add': { request: { source: string; sha256?: string | undefined; name?: string | undefined }; reply: { jobId: string } };
  /** Makes the project embed with a model (an id from models:list, or a path); the next Cluster embeds with it. */
  'models:use': { request: { id: string }; reply: { model: ModelInfo } };
  'jobs:active': { request: Record<string, never>; reply: { jobs: JobProgress[] } };
  'jobs:cancel': { request: { jobId: string }; reply: { cancelled: boolean } };
}

/** Events pushed from the main process to the renderer. */
export interface ApiEvents {
  'jobs:progress': JobProgress;
  'jobs:finished': JobFinished;
  'training:epoch': TrainingEpoch;
}

export type Channel = keyof ApiChannels;
export type RequestOf<C extends Channel> = ApiChannels[C]['request'];
export type ReplyOf<C extends Channel> = ApiChannels[C]['reply'];
export type EventName = keyof ApiEvents;

/** A reply as it crosses the wire: the value, or an error message meant for the user. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: string };

/** What the preload exposes as `window.api`, and what the bridge client implements over HTTP. */
export interface SpecimenApi {
  invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ReplyOf<C>>;
  on<E extends EventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
  /** URL of an image's thumbnail. */
  thumbnailUrl(imageId: number): string;
  /** URL of an image as the viewer shows it: the original, downscaled to at most 2048 pixels on its long side. */
  imageUrl(imageId: number): string;
  /** Electron only: the real path of a dropped file or folder, or null when it has none. */
  pathForFile?(file: File): string | null;
}
