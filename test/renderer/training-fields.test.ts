import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src-main/contract/schemas';
import { TRAINING_LIMITS } from '../../src-main/contract/limits';
import { DEFAULTS, LATE_NUMBER_FIELDS, NUMBER_FIELDS, TRAINING_BOUNDS } from '../../src-renderer/src/lib/training-fields';

describe('the fine-tuning form', () => {
  it('bounds each setting exactly as the request schema does', () => {
    expect(TRAINING_BOUNDS).toEqual(TRAINING_LIMITS);
  });

  it('has a field for every bounded setting, and its defaults pass the schema', () => {
    expect([...NUMBER_FIELDS, ...LATE_NUMBER_FIELDS].map((field) => field.key).sort()).toEqual(Object.keys(TRAINING_LIMITS).sort());
    expect(() => parseRequest('training:start', { ...DEFAULTS })).not.toThrow();
  });
});
