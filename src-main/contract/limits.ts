/**
 * Bounds of the fine-tuning settings that `schemas.ts` accepts. The renderer's form repeats them (it may import
 * only types from src-main) in src-renderer/src/lib/training-fields.ts, and a test keeps the two equal.
 */
export const TRAINING_LIMITS = {
  way: { min: 2, max: 200 },
  shot: { min: 1, max: 50 },
  query: { min: 1, max: 50 },
  tasksPerEpoch: { min: 1, max: 10_000 },
  epochs: { min: 1, max: 100 },
  alpha: { min: 0, max: 1 },
  learningRate: { max: 1 },
  seed: { min: 0, max: 2 ** 32 - 1 },
} as const;
