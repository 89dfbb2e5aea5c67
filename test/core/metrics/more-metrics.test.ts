import { describe, expect, it } from 'vitest';
import references from '../../fixtures/metric-references-2.json';
import { javascriptKernel } from '../../../src-main/core/clustering/matrix-kernel';
import { hungarianAccuracy, minimumCostAssignment } from '../../../src-main/core/metrics/hungarian';
import { silhouetteScore } from '../../../src-main/core/metrics/silhouette';

// References: scikit-learn 1.2.1 and scipy 1.10.1 via test/fixtures/metric-references-2.py.
describe('Hungarian accuracy', () => {
  it('finds the minimum-cost assignment of a small matrix', () => {
    expect(minimumCostAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]])).toEqual([1, 0, 2]);
  });

  it('counts a split species once, unlike CA', () => {
    expect(hungarianAccuracy([0, 0, 1, 1], [5, 6, 7, 7])).toBe(0.75);
  });

  it('matches scipy linear_sum_assignment on a noisy 300-point fixture', () => {
    expect(hungarianAccuracy(references.hungarian.truth, references.hungarian.predicted)).toBeCloseTo(references.hungarian.accuracy, 12);
  });
});

describe('silhouette', () => {
  it('matches scikit-learn silhouette_score to 1e-6', async () => {
    const points = references.silhouette.points;
    const data = Float32Array.from(points.flat());
    const score = await silhouetteScore({ data, count: points.length, dims: points[0]!.length }, references.silhouette.labels, javascriptKernel());
    expect(score).toBeCloseTo(references.silhouette.score, 6);
  });
});
