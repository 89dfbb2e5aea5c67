/**
 * The implementation of every contract channel over an open project. Electron's IPC wiring and the local
 * bridge both call these, after validating the request, so the renderer meets the same code either way.
 */
import path from 'node:path';
import type { Channel, ClusterCard, ReplyOf, RequestOf } from '../contract/api';
import { markClusterAsSpecies, mergeClusters, moveImages, renameClusterUndoable, rescore, splitCluster, undoLastEdit } from './cluster-edit-service';
import { parseScales, projectScales, SCALES_SETTING, TTA_SETTING } from './embedding-space';
import { buildImageCsv } from './export-service';
import { confusion } from './evaluate-service';
import { importFolder } from './import-service';
import { importLabelCsv, renameSpecies, setSpeciesColor } from './label-service';
import { mapPoints } from './map-service';
import { listProjectModels, useModel } from './model-service';
import type { Project } from './project';
import { defaultClusterName } from './project-store';
import type { WorkHooks } from './job-work';
import { stoppedTraining } from './training-runs';
import { runInWorker } from './worker-host';

/** One async function per channel. */
export type ApiHandlers = { [C in Channel]: (request: RequestOf<C>) => Promise<ReplyOf<C>> };

/** What differs between Electron and the bridge. */
export interface Platform {
  /** Opens a folder dialog; absent where there is none (the browser). */
  pickFolder?: () => Promise<string | null>;
}

/** Hooks for worker work that answers a request rather than running as a job: no progress, no cancel. */
function answerHooks(): WorkHooks {
  return { signal: new AbortController().signal, report: () => undefined, epoch: () => undefined };
}

/** Builds the handlers for a project. */
export function createApiHandlers(project: Project, platform: Platform = {}): ApiHandlers {
  const { store, jobs } = project;
  /** Labels changed: the latest run's scores against them are scored again, so Evaluate never shows stale ones. */
  const rescoreLatest = () => {
    const run = store.latestRun();
    if (run) rescore(store, run.id);
  };
  return {
    async 'project:info'() {
      const counts = store.counts();
      const modelPath = project.modelPath();
      const run = store.latestRun();
      return {
        folder: project.folder,
        ...counts,
        embeddedCount: run ? store.embeddedCount(run.modelId) : 0,
        model: modelPath ? { path: modelPath, name: path.basename(modelPath) } : null,
        canPickFolders: Boolean(platform.pickFolder),
        scales: projectScales(store),
        stoppedTraining: stoppedTraining(store),
      };
    },

    async 'images:list'({ offset, limit, ...filter }) {
      return store.listImages(offset, limit, filter);
    },

    async 'images:ids'(filter) {
      return { ids: store.imageIds(filter) };
    },

    async 'map:points'({ method, seed }) {
      // The projection (seconds at 50,000 photos) is computed in the worker; the cache and labels stay here.
      return mapPoints(project, { method: method ?? 'pca', seed: seed ?? 0 }, (modelId, projectionSeed) =>
        runInWorker(project, { kind: 'projection', modelId, seed: projectionSeed }, answerHooks()),
      );
    },

    async 'evaluate:confusion'() {
      return confusion(store);
    },

    async 'import:pick-folder'() {
      return { folder: platform.pickFolder ? await platform.pickFolder() : null };
    },

    async 'import:start'({ folder, labelsFromFolders }) {
      const jobId = jobs.start('import', { folder, labelsFromFolders }, async ({ signal, report }) => {
        const summary = await importFolder(store, folder, {
          labelsFromFolders,
          thumbnailPath: (sha256) => project.thumbnailPath(sha256),
          signal,
          onProgress: report,
        });
        const failures = summary.failed > 0 ? `; ${summary.failed} could not be read (see the gallery for reasons)` : '';
        return `Imported ${summary.imported} images${failures}.`;
      });
      return { jobId };
    },

    async 'clusters:run'({ method, k, seed = 0, tta, scales }) {
      if (tta !== undefined) store.setSetting(TTA_SETTING, tta ? 'on' : 'off');
      if (scales !== undefined) store.setSetting(SCALES_SETTING, scales ? parseScales(scales.join(',')).join(',') : '');
      const jobId = jobs.start('cluster', { method, k, seed }, ({ signal, report }) =>
        runInWorker(project, { kind: 'cluster', method, k, seed }, { signal, report, epoch: () => undefined }),
      );
      return { jobId };
    },

    async 'training:start'(settings) {
      const jobId = jobs.start('train', settings, ({ signal, report }) =>
        runInWorker(project, { kind: 'train', settings }, { signal, report, epoch: (record) => jobs.emitTrainingEpoch(jobId, record) }),
      );
      return { jobId };
    },

    async 'training:resume'() {
      const jobId = jobs.start('train', { resume: true }, ({ signal, report }) =>
        runInWorker(project, { kind: 'train', settings: {}, resume: true }, { signal, report, epoch: (record) => jobs.emitTrainingEpoch(jobId, record) }),
      );
      return { jobId };
    },

    async 'clusters:suggest-k'({ maxK, criterion = 'eigengap' }) {
      // In the worker: the eigensolve or the K-means fits would otherwise hold up every other request.
      return runInWorker(project, { kind: 'suggest-k', criterion, maxK }, answerHooks());
    },

    async 'clusters:latest'() {
      const run = store.latestRun();
      if (!run) return { run: null, clusters: [] };
      const names = store.clusterNames(run.id);
      const clusters: ClusterCard[] = [];
      for (const [clusterId, members] of store.clusterMembers(run.id)) {
        const counts = new Map<string, number>();
        let labeled = 0;
        for (const member of members) {
          if (member.species === null) continue;
          labeled++;
          counts.set(member.species, (counts.get(member.species) ?? 0) + 1);
        }
        let topSpecies: string | null = null;
        let topCount = 0;
        for (const [species, count] of counts) {
          if (count > topCount) [topSpecies, topCount] = [species, count];
        }
        clusters.push({
          clusterId,
          name: names.get(clusterId) ?? defaultClusterName(clusterId),
          size: members.length,
          imageIds: members.slice(0, 12).map((member) => member.imageId),
          outlierIds: members.length > 12 ? members.slice(-Math.min(4, members.length - 12)).reverse().map((member) => member.imageId) : [],
          topSpecies,
          purity: labeled > 0 ? topCount / labeled : null,
        });
      }
      clusters.sort((a, b) => b.size - a.size || a.clusterId - b.clusterId);
      return { run, clusters };
    },

    async 'clusters:rename'({ runId, clusterId, name }) {
      return { name: renameClusterUndoable(store, runId, clusterId, name) };
    },

    async 'clusters:merge'({ runId, clusterIds }) {
      return mergeClusters(store, runId, clusterIds);
    },

    async 'clusters:split'({ runId, clusterId, parts }) {
      return splitCluster(store, runId, clusterId, parts ?? 2);
    },

    async 'clusters:move'({ runId, imageIds, toClusterId }) {
      return moveImages(store, runId, imageIds, toClusterId);
    },

    async 'clusters:undo'({ runId }) {
      return { undone: undoLastEdit(store, runId) };
    },

    async 'clusters:runs'() {
      return { runs: store.listRuns() };
    },

    async 'clusters:mark-species'({ runId, clusterId, species }) {
      return { changed: markClusterAsSpecies(store, runId, clusterId, species) };
    },

    async 'species:list'() {
      return { species: store.speciesCounts() };
    },

    async 'species:rename'({ from, to }) {
      const changed = renameSpecies(store, from, to);
      rescoreLatest();
      return { changed };
    },

    async 'species:set-color'({ name, color }) {
      return { color: setSpeciesColor(store, name, color) };
    },

    async 'labels:import-csv'({ csv, dryRun }) {
      const result = await importLabelCsv(store, csv, { dryRun: dryRun ?? false });
      if (result.changed > 0) rescoreLatest();
      return result;
    },

    async 'labels:set'({ items }) {
      const known = new Set(items.map((item) => item.imageId).filter((imageId) => store.image(imageId) !== null));
      const valid = items.filter((item) => known.has(item.imageId));
      if (valid.length === 0) throw new Error('None of these images exists in the project any more; refresh the view.');
      store.database.transaction(() => {
        store.clearLabels(valid.filter((item) => item.species === null).map((item) => item.imageId));
        for (const source of ['folder', 'csv', 'user'] as const) {
          const group = valid.filter((item) => item.species !== null && (item.source ?? 'user') === source);
          if (group.length > 0) store.setLabels(group.map((item) => ({ imageId: item.imageId, species: item.species! })), source);
        }
      })();
      rescoreLatest();
      return { changed: valid.length };
    },

    async 'export:csv'() {
      const { csv, rows } = buildImageCsv(store);
      const stamp = new Date().toISOString().slice(0, 10);
      return { fileName: `${path.basename(project.folder)}-clusters-${stamp}.csv`, csv, rows };
    },

    async 'models:list'() {
      return listProjectModels(project);
    },

    async 'models:add'({ source, sha256, name }) {
      const jobId = jobs.start('model', { source }, ({ signal, report }) =>
        runInWorker(project, { kind: 'model', source, sha256, name }, { signal, report, epoch: () => undefined }),
      );
      return { jobId };
    },

    async 'models:use'({ id }) {
      return { model: await useModel(project, id) };
    },

    async 'jobs:active'() {
      return { jobs: jobs.active() };
    },

    async 'jobs:cancel'({ jobId }) {
      return { cancelled: jobs.cancel(jobId) };
    },
  };
}
