/**
 * The fine-tuning form's numeric fields: labels, one-line explanations, defaults and bounds. The renderer may
 * not import values from src-main (test/architecture.test.ts), so the bounds are written here again and
 * test/renderer/training-fields.test.ts checks that they equal the schema's (src-main/contract/limits.ts).
 */

/** Bounds of each setting, as the main process accepts them. */
export const TRAINING_BOUNDS = {
  way: { min: 2, max: 200 },
  shot: { min: 1, max: 50 },
  query: { min: 1, max: 50 },
  tasksPerEpoch: { min: 1, max: 10_000 },
  epochs: { min: 1, max: 100 },
  alpha: { min: 0, max: 1 },
  learningRate: { max: 1 },
  seed: { min: 0, max: 2 ** 32 - 1 },
} as const;

/** The defaults of `trainProject` and `trainAdapter` (train-service.ts, trainer.ts). */
export const DEFAULTS = { way: 30, shot: 5, query: 6, tasksPerEpoch: 300, epochs: 9, alpha: 0.1, loss: 'proto', learningRate: 0.001, seed: 0, trainable: 'head' } as const;
export type NumberSetting = 'way' | 'shot' | 'query' | 'tasksPerEpoch' | 'epochs' | 'alpha' | 'learningRate' | 'seed';

/** The numeric settings as the form shows them, in order; the loss select goes between the two lists. */
export const NUMBER_FIELDS: { key: NumberSetting; id: string; label: string; help: string; min: number; max?: number; step: number | 'any' }[] = [
  { key: 'way', id: 'train-way', label: 'Species per task (way)', help: 'How many species each practice task mixes; capped at the species available.', ...TRAINING_BOUNDS.way, step: 1 },
  { key: 'shot', id: 'train-shot', label: 'Examples per species (shot)', help: 'Labeled images that form each species’ prototype in a task.', ...TRAINING_BOUNDS.shot, step: 1 },
  { key: 'query', id: 'train-query', label: 'Test images per species (query)', help: 'Images classified against the prototypes; a species needs shot + query labeled images.', ...TRAINING_BOUNDS.query, step: 1 },
  { key: 'tasksPerEpoch', id: 'train-tasks', label: 'Tasks per epoch', help: 'Practice tasks per pass; more gives smoother curves and takes longer.', ...TRAINING_BOUNDS.tasksPerEpoch, step: 1 },
  { key: 'epochs', id: 'train-epochs', label: 'Epochs', help: 'Passes over the tasks; the pass with the best validation score is kept.', ...TRAINING_BOUNDS.epochs, step: 1 },
  { key: 'alpha', id: 'train-alpha', label: 'Scatter loss weight (alpha)', help: '0 to 1: 0 is pure prototype cross-entropy; higher pulls each species tighter (Eq. 3).', ...TRAINING_BOUNDS.alpha, step: 0.05 },
];
/** The numeric settings shown after the loss. */
export const LATE_NUMBER_FIELDS: typeof NUMBER_FIELDS = [
  { key: 'learningRate', id: 'train-rate', label: 'Learning rate', help: 'Step size of SGD; divided by 10 after epochs 3 and 6. Too high makes the loss jump.', min: 0, ...TRAINING_BOUNDS.learningRate, step: 'any' },
  { key: 'seed', id: 'train-seed', label: 'Training seed', help: 'The same seed and labels give the same tasks and the same result.', ...TRAINING_BOUNDS.seed, step: 1 },
];

