/**
 * How the latest clustering run lines up with the species people know: a confusion matrix of clusters
 * against species, for the Evaluate view's heatmap.
 */
import type { Confusion } from '../contract/api';
import { defaultClusterName, type ProjectStore } from './project-store';

/**
 * Counts the latest run's images per (cluster, known species), with the unlabeled images per cluster.
 *
 * Clusters come largest first (as on the cluster cards). Species are ordered by the position of the cluster
 * holding most of their images, so a good clustering reads as a diagonal from the top left; a species split
 * over clusters shows as a row of several cells, a cluster mixing species as a column.
 *
 * Example: two clusters holding 3 + 1 and 0 + 2 images of species a and b, and one unlabeled image in the
 * second: `{ species: ['a', 'b'], clusters: [{ clusterId: 1, ... }, { clusterId: 2, ... }], counts: [[3, 1], [0, 2]], unlabeled: [0, 1] }`.
 */
export function confusion(store: ProjectStore): Confusion {
  const run = store.latestRun();
  if (!run) return { runId: null, species: [], clusters: [], counts: [], unlabeled: [] };
  const names = store.clusterNames(run.id);
  const members = [...store.clusterMembers(run.id)];
  members.sort(([idA, a], [idB, b]) => b.length - a.length || idA - idB);
  const clusters = members.map(([clusterId, list]) => ({ clusterId, name: names.get(clusterId) ?? defaultClusterName(clusterId), size: list.length }));

  const countsBySpecies = new Map<string, number[]>();
  const unlabeled = members.map(() => 0);
  members.forEach(([, list], column) => {
    for (const member of list) {
      if (member.species === null) {
        unlabeled[column]!++;
        continue;
      }
      let row = countsBySpecies.get(member.species);
      if (!row) countsBySpecies.set(member.species, (row = members.map(() => 0)));
      row[column]!++;
    }
  });

  // Each species' best cluster: the one holding most of its images (the first in card order on a tie).
  const best = new Map<string, { column: number; count: number }>();
  for (const [name, row] of countsBySpecies) {
    let column = 0;
    for (let index = 1; index < row.length; index++) if (row[index]! > row[column]!) column = index;
    best.set(name, { column, count: row[column]! });
  }
  const species = [...countsBySpecies.keys()].sort((a, b) => {
    const bestA = best.get(a)!;
    const bestB = best.get(b)!;
    return bestA.column - bestB.column || bestB.count - bestA.count || a.localeCompare(b);
  });
  // counts[c][s]: one row per cluster, one column per species.
  const counts = clusters.map((_, column) => species.map((name) => countsBySpecies.get(name)![column]!));
  return { runId: run.id, species, clusters, counts, unlabeled };
}
