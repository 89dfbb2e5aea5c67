/**
 * The work of the long jobs that run off the main thread (clustering with its embedding pass, fine-tuning,
 * adding a model, estimating k), written once: a worker thread runs it in the app and the bridge, and the same function runs
 * in-process where no worker bundle exists (tests that import the sources).
 */
import type { ClusterMethod, KCriterionName, KSuggestion, TrainingEpoch, TrainingSettings } from '../contract/api';
import type { Progress } from '../core/util/progress';
import { clusterProject } from './cluster-service';
import { prepareEmbeddings } from './embedding-space';
import { suggestK } from './k-suggestion';
import { computeProjection, type Projection } from './map-service';
import { addModel } from './model-service';
import type { Project } from './project';
import { trainProject } from './train-service';

/** A job that can run in a worker: its kind and the request it came from. */
export type WorkerTask =
  | { kind: 'embed' }
  | { kind: 'cluster'; method: ClusterMethod; k: number; seed: number; restarts?: number }
  | { kind: 'train'; settings: TrainingSettings; resume?: boolean }
  | { kind: 'model'; source: string; sha256?: string | undefined; name?: string | undefined }
  | { kind: 'suggest-k'; criterion: KCriterionName; maxK?: number | undefined }
  | { kind: 'projection'; modelId: string; seed: number };

/** What the work reports while it runs. */
export interface WorkHooks {
  signal: AbortSignal;
  report(progress: Progress): void;
  epoch(record: Omit<TrainingEpoch, 'jobId'>): void;
}

/** What a task resolves to: the message the user sees when a job is done, or a computed answer. */
export type TaskResult<T extends WorkerTask> = T extends { kind: 'suggest-k' } ? KSuggestion : T extends { kind: 'projection' } ? Projection : string;

/** Runs a task on an open project. */
export async function runTask<T extends WorkerTask>(project: Project, task: T, hooks: WorkHooks): Promise<TaskResult<T>> {
  return (await runAnyTask(project, task, hooks)) as TaskResult<T>;
}

async function runAnyTask(project: Project, task: WorkerTask, hooks: WorkHooks): Promise<string | KSuggestion | Projection> {
  if (task.kind === 'projection') return computeProjection(project.store, task.modelId, task.seed);
  if (task.kind === 'suggest-k') return suggestK(project.store, { criterion: task.criterion, maxK: task.maxK, signal: hooks.signal, onProgress: hooks.report });
  if (task.kind === 'model') return addModel(task.source, { sha256: task.sha256, name: task.name, signal: hooks.signal, onProgress: hooks.report });
  if (task.kind === 'embed') {
    const { modelId, embedded } = await prepareEmbeddings(project, { signal: hooks.signal, onProgress: hooks.report });
    return `Embedded ${embedded} images; ${project.store.embeddedCount(modelId)} in all.`;
  }
  return task.kind === 'cluster' ? runCluster(project, task, hooks) : runTraining(project, task, hooks);
}

async function runCluster(project: Project, task: Extract<WorkerTask, { kind: 'cluster' }>, { signal, report }: WorkHooks): Promise<string> {
  const { method, k, seed, restarts } = task;
  const { modelId, embedded } = await prepareEmbeddings(project, {
    signal,
    onProgress: (progress) => report({ fraction: progress.fraction * 0.7, message: progress.message }),
  });
  const { metrics, clusterCount } = await clusterProject(project.store, modelId, {
    method,
    k,
    seed,
    ...(restarts === undefined ? {} : { restarts }),
    signal,
    onProgress: (progress) => report({ fraction: 0.7 + progress.fraction * 0.3, message: progress.message }),
  });
  const scores = metrics ? ` ARI ${metrics.ari.toFixed(3)} against folder labels.` : '';
  return `Made ${clusterCount} clusters of ${project.store.embeddedCount(modelId)} images (${embedded} newly embedded).${scores}`;
}

async function runTraining(project: Project, { settings, resume }: Extract<WorkerTask, { kind: 'train' }>, { signal, report, epoch }: WorkHooks): Promise<string> {
  const result = await trainProject(project, { ...settings, resume, signal, onProgress: report, onEpoch: epoch });
  const best = result.history[result.bestEpoch - 1]!;
  const validation = Number.isNaN(best.validationCa)
    ? 'no species held out for validation (label 4 or more species with enough images to cross-validate)'
    : result.crossValidationFolds > 0
      ? `cross-validated cluster accuracy ${best.validationCa.toFixed(3)} (${result.crossValidationFolds} folds of 2 held-out species)`
      : `validation cluster accuracy ${best.validationCa.toFixed(3)} on ${result.validationSpecies.length} held-out species`;
  return `Fine-tuned on ${result.trainSpecies.length} species in ${result.seconds.toFixed(0)} s; best epoch ${result.bestEpoch}, ${validation}. Cluster again to use it.`;
}
