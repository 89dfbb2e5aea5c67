import { describe, expect, it } from 'vitest';
import references from '../../fixtures/metric-references.json';
import {
  adjustedMutualInformation,
  adjustedRandIndex,
  clusterAccuracy,
  logGamma,
  normalizedMutualInformation,
} from '../../../src-main/core/metrics/clustering-metrics';

// Reference values: scikit-learn 1.2.1 via test/fixtures/metric-references.py (see its header).
describe('clustering metrics match scikit-learn', () => {
  for (const [name, reference] of Object.entries(references.cases)) {
    it(`${name}: ARI, NMI, AMI within 1e-9`, () => {
      expect(adjustedRandIndex(reference.truth, reference.predicted)).toBeCloseTo(reference.ari, 9);
      expect(normalizedMutualInformation(reference.truth, reference.predicted)).toBeCloseTo(reference.nmi, 9);
      expect(adjustedMutualInformation(reference.truth, reference.predicted)).toBeCloseTo(reference.ami, 9);
    });
  }
});

describe('cluster accuracy (Eq. 4, Bjerge et al. 2025)', () => {
  it('counts the majority label of each cluster', () => {
    // Cluster 0 holds a,a,b (majority 2), cluster 1 holds b,b,c (majority 2), cluster 2 holds c (1): 5 of 7.
    expect(clusterAccuracy(['a', 'a', 'b', 'b', 'b', 'c', 'c'], [0, 0, 0, 1, 1, 1, 2])).toBeCloseTo(5 / 7, 12);
  });

  it('is 1 for a perfect clustering under any renaming, and rewards splitting (unlike ARI)', () => {
    expect(clusterAccuracy([1, 1, 2, 2], [7, 7, 3, 3])).toBe(1);
    expect(clusterAccuracy([1, 1, 2, 2], [0, 1, 2, 3])).toBe(1);
    expect(adjustedRandIndex([1, 1, 2, 2], [0, 1, 2, 3])).toBe(0);
  });
});

describe('logGamma', () => {
  it('matches ln((n-1)!) and ln Gamma(0.5)', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 10);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
  });
});
