/**
 * Stopped training runs as the rest of the app sees them (kept light: no training code is loaded to answer
 * whether a run can be resumed).
 */
import { createHash } from 'node:crypto';
import type { StoppedTraining } from '../contract/api';
import type { Project } from './project';
import type { ProjectStore } from './project-store';
import type { ProjectTrainOptions } from './train-service';

/** The settings a run is stored with: the options without callbacks and signal. */
export type StoredSettings = Omit<ProjectTrainOptions, 'onEpoch' | 'onProgress' | 'signal' | 'resume'>;

/**
 * The project's stopped training run, or null when there is none or it stopped before finishing an epoch
 * (resuming it would be the same as starting again).
 */
export function stoppedTraining(store: ProjectStore): StoppedTraining | null {
  const run = store.stoppedTrainingRun();
  if (!run || (run.epoch === 0 && !run.blockResult)) return null;
  const settings = run.settings as StoredSettings;
  const epochs = run.split.crossValidation?.epochs ?? settings.epochs ?? 9;
  return { trainable: settings.trainable ?? 'head', stage: run.stage, epoch: run.epoch, epochs, updatedAt: run.updatedAt };
}

/**
 * What the run trains on: the labels (of readable photos or not, so a photo that fails to decode during the
 * run does not change it), the model and the input sizes.
 */
export function trainingFingerprint(project: Project, scales: unknown): string {
  const content = { model: project.modelPath(), scales, labels: project.store.labelKeys() };
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

