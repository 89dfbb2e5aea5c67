/**
 * The one typed contract between the renderer and the main process (or the local bridge): every channel,
 * its request and reply, and the events pushed to the renderer. Types only; the runtime request schemas
 * live in `schemas.ts` beside it.
 */

/** Clustering methods the app offers. */
/**
 * Clustering methods the app offers: K-means, spectral clustering on the kNN graph, or K-means seeded by the
 * labeled images (each labeled species keeps a cluster; the rest are candidate new species).
 */
export type ClusterMethod = 'kmeans' | 'spectral' | 'seeded';

/** Kinds of long-running job. */
export type JobKind = 'import' | 'embed' | 'cluster' | 'train';

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
}

/** One finished training epoch, for the live curves. */
export interface TrainingEpoch {
  jobId: string;
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
    request: { offset: number; limit: number; clusterId?: number | undefined };
    reply: { total: number; images: ImageView[] };
  };
  'import:pick-folder': { request: Record<string, never>; reply: { folder: string | null } };
  'import:start': { request: { folder: string; labelsFromFolders: boolean }; reply: { jobId: string } };
  'clusters:run': {
    /** `tta`: average each photo's features with its mirror image's (remembered for the project). */
    request: { method: ClusterMethod; k: number; seed?: number | undefined; tta?: boolean | undefined };
    reply: { jobId: string };
  };
  'clusters:suggest-k': {
    request: { maxK?: number | undefined };
    /** The eigengap estimate, with the normalised-Laplacian eigenvalues (smallest first) as its evidence. */
    reply: { k: number; eigenvalues: number[]; images: number };
  };
  'clusters:latest': { request: Record<string, never>; reply: { run: ClusterRunInfo | null; clusters: ClusterCard[] } };
  'clusters:rename': { request: { runId: number; clusterId: number; name: string }; reply: { name: string } };
  'clusters:merge': { request: { runId: number; clusterIds: number[] }; reply: { clusterId: number; moved: number } };
  'clusters:split': { request: { runId: number; clusterId: number; parts?: number | undefined }; reply: { clusterIds: number[] } };
  'clusters:move': { request: { runId: number; imageIds: number[]; toClusterId: number | null }; reply: { clusterId: number; moved: number } };
  'clusters:undo': { request: { runId: number }; reply: { undone: string | null } };
  'species:list': { request: Record<string, never>; reply: { species: { name: string; images: number }[] } };
  'labels:set': {
    request: { items: { imageId: number; species: string | null; source?: 'folder' | 'csv' | 'user' | undefined }[] };
    reply: { changed: number };
  };
  'export:csv': { request: Record<string, never>; reply: { fileName: string; csv: string; rows: number } };
  'training:start': { request: TrainingSettings; reply: { jobId: string } };
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
}
