/** The project's clustering runs, newest first, for the Evaluate view and the before/after comparison of training. */
import type { ClusterMethod, ClusterMetrics, ClusterRunInfo } from '../../../src-main/contract/api';
import { api } from './api';

/** Loads `clusters:runs` on demand; one instance per view that shows runs. */
export class RunHistory {
  runs = $state.raw<ClusterRunInfo[]>([]);
  /** Why the last load failed, or null. */
  error = $state<string | null>(null);
  #loading = 0;

  /** Reloads the runs; an older reply that arrives late is ignored. */
  async load(): Promise<void> {
    const ticket = ++this.#loading;
    try {
      const { runs } = await api.invoke('clusters:runs', {});
      if (ticket === this.#loading) [this.runs, this.error] = [runs, null];
    } catch (error) {
      if (ticket === this.#loading) this.error = (error as Error).message;
    }
  }
}

/** The metrics a comparison shows, in order, with what each measures. */
export const METRIC_ROWS: { key: keyof Omit<ClusterMetrics, 'count'>; label: string; meaning: string }[] = [
  { key: 'ca', label: 'CA', meaning: 'Cluster accuracy: share of labeled images in their cluster’s majority species' },
  { key: 'nmi', label: 'NMI', meaning: 'Normalised mutual information between clusters and species' },
  { key: 'ami', label: 'AMI', meaning: 'Mutual information adjusted for chance (0 = random, 1 = perfect)' },
  { key: 'ari', label: 'ARI', meaning: 'Adjusted Rand index: pairs of images grouped alike (0 = random, 1 = perfect)' },
  { key: 'hungarian', label: 'Hungarian', meaning: 'Accuracy with each cluster matched to at most one species' },
];

/** Plain names of the clustering methods. */
export const METHOD_NAMES: Record<ClusterMethod, string> = {
  kmeans: 'K-means',
  spectral: 'Spectral',
  seeded: 'Seeded K-means',
  gmm: 'Gaussian mixture',
  agglomerative: 'Agglomerative',
  hdbscan: 'HDBSCAN',
};

/** A short description of the embedding a run clustered: frozen backbone features, or a fine-tuned adapter's. */
export function describeModel(modelId: string): string {
  const adapter = /\+adapter-(\d+)$/.exec(modelId);
  if (adapter) return `fine-tuned (adapter ${adapter[1]})`;
  if (modelId.endsWith('+tta')) return 'frozen, mirror-averaged';
  return 'frozen';
}

/** Whether a run clustered the embedding of a fine-tuned adapter. */
export function isFineTuned(run: ClusterRunInfo): boolean {
  return /\+adapter-\d+$/.test(run.modelId);
}

/**
 * The newest run on a fine-tuned embedding and the newest earlier run on another embedding (before this
 * training), or null when the newest run is not fine-tuned or nothing came before it.
 */
export function beforeAndAfterTraining(runs: ClusterRunInfo[]): { before: ClusterRunInfo; after: ClusterRunInfo } | null {
  const after = runs[0];
  if (!after || !isFineTuned(after)) return null;
  const before = runs.find((run) => run.modelId !== after.modelId);
  return before ? { before, after } : null;
}

/** A score with three decimals, or a dash when the run has none. */
export function formatScore(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(3);
}
