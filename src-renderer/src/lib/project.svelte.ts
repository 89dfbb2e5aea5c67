/** The project as the renderer sees it: overview, gallery page, clusters, and the running job. */
import type {
  ClusterCard,
  ClusterMethod,
  ClusterRunInfo,
  ImageView,
  JobFinished,
  JobKind,
  JobProgress,
  ProjectInfo,
  TrainingEpoch,
  TrainingSettings,
} from '../../../src-main/contract/api';
import { api } from './api';

/** Page size of the gallery. */
export const GALLERY_PAGE = 120;

export class ProjectState {
  info = $state<ProjectInfo | null>(null);
  images = $state.raw<ImageView[]>([]);
  imageTotal = $state(0);
  run = $state<ClusterRunInfo | null>(null);
  clusters = $state.raw<ClusterCard[]>([]);
  job = $state<JobProgress | null>(null);
  /** The last message for the user: what finished, or what went wrong and what to do. */
  notice = $state<{ kind: 'info' | 'error'; text: string } | null>(null);
  /** Species names for the labeling palette, in a stable order (number key = position + 1): new ones are appended. */
  palette = $state.raw<string[]>([]);
  /** Stored species with their image counts and palette colours (`#rrggbb` or null). */
  species = $state.raw<{ name: string; images: number; color: string | null }[]>([]);
  /** Clusters ticked for merging. */
  selectedClusters = $state.raw<number[]>([]);
  /** Epochs of the current or last training job, for the live curves. */
  trainingEpochs = $state.raw<TrainingEpoch[]>([]);
  #galleryLimit = GALLERY_PAGE;
  #finishedJobs = new Set<string>();
  #labelHistory: { imageId: number; species: string | null; source: 'folder' | 'csv' | 'user' | undefined }[][] = [];
  /** The kind of each undoable change of this session, newest last: Ctrl+Z on the Map, which makes both, undoes the last. */
  #undoKinds: ('labels' | 'clusters')[] = [];

  constructor() {
    api.on('jobs:progress', (progress) => {
      if (!this.#finishedJobs.has(progress.jobId)) this.job = progress;
    });
    api.on('jobs:finished', (finished) => void this.#onFinished(finished));
    api.on('training:epoch', (epoch) => {
      this.trainingEpochs = [...this.trainingEpochs.filter((known) => known.jobId === epoch.jobId), epoch];
    });
  }

  async #onFinished(finished: JobFinished): Promise<void> {
    this.#finishedJobs.add(finished.jobId);
    this.job = null;
    // Refresh first, so the message appears together with what it describes.
    await this.refresh();
    this.notice = { kind: finished.status === 'failed' ? 'error' : 'info', text: finished.message };
  }

  /** Reloads everything shown. */
  async refresh(): Promise<void> {
    try {
      const [info, page, latest, active, species] = await Promise.all([
        api.invoke('project:info', {}),
        api.invoke('images:list', { offset: 0, limit: this.#galleryLimit }),
        api.invoke('clusters:latest', {}),
        api.invoke('jobs:active', {}),
        api.invoke('species:list', {}),
      ]);
      const known = species.species.map((entry) => entry.name);
      this.palette = [...this.palette, ...known.filter((name) => !this.palette.includes(name))];
      this.species = species.species;
      this.info = info;
      this.images = page.images;
      this.imageTotal = page.total;
      this.run = latest.run;
      this.clusters = latest.clusters;
      const running = active.jobs[0];
      this.job = running && !this.#finishedJobs.has(running.jobId) ? running : this.job && this.#finishedJobs.has(this.job.jobId) ? null : this.job;
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Shows more of the gallery. */
  async showMore(): Promise<void> {
    this.#galleryLimit += GALLERY_PAGE;
    await this.refresh();
  }

  /** Starts importing a folder. */
  async importFolder(folder: string, labelsFromFolders: boolean): Promise<void> {
    await this.#startJob('import', () => api.invoke('import:start', { folder, labelsFromFolders }));
  }

  /** Opens the system folder dialog (Electron only); null when cancelled. */
  async pickFolder(): Promise<string | null> {
    return (await api.invoke('import:pick-folder', {})).folder;
  }

  /** Starts clustering (embedding what is missing first). */
  async cluster(method: ClusterMethod, k: number, seed: number, tta: boolean, scales?: number[] | null): Promise<void> {
    await this.#startJob('cluster', () => api.invoke('clusters:run', { method, k, seed, tta, ...(scales === undefined ? {} : { scales }) }));
  }

  /** Starts episodic fine-tuning on the labeled species. */
  async train(settings: TrainingSettings): Promise<void> {
    this.trainingEpochs = [];
    await this.#startJob('train', () => api.invoke('training:start', settings));
  }

  /** Goes on with the stopped training run (`info.stoppedTraining`) from its last finished epoch. */
  async resumeTraining(): Promise<void> {
    this.trainingEpochs = [];
    await this.#startJob('train', () => api.invoke('training:resume', {}));
  }

  /** Starts adding an image model from a path or URL (downloaded with progress; checked by loading it). */
  async addModel(source: string): Promise<void> {
    await this.#startJob('model', () => api.invoke('models:add', { source }));
  }

  /** Makes the project embed with a model; the next clustering run embeds with it. */
  async useModel(id: string): Promise<void> {
    try {
      const { model } = await api.invoke('models:use', { id });
      await this.refresh();
      this.notice = { kind: 'info', text: `Now using ${model.name}. Cluster again to embed the photos with it.` };
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Cancels the running job. */
  async cancel(): Promise<void> {
    if (this.job) await api.invoke('jobs:cancel', { jobId: this.job.jobId });
  }

  /** Renames a cluster of the latest run; the name is saved at once. */
  async rename(clusterId: number, name: string): Promise<void> {
    if (!this.run) return;
    try {
      const saved = await api.invoke('clusters:rename', { runId: this.run.id, clusterId, name });
      this.clusters = this.clusters.map((card) => (card.clusterId === clusterId ? { ...card, name: saved.name } : card));
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Adds a species name to the palette (it is stored once an image carries it). */
  addSpecies(name: string): void {
    const trimmed = name.trim();
    if (trimmed !== '' && !this.palette.includes(trimmed)) this.palette = [...this.palette, trimmed];
  }

  /**
   * Labels images with a species (null removes their labels); undoable with `undoLabels`. `before` holds the
   * images as they were, for the undo, where they are not all on the first gallery page (the virtualised library).
   */
  async labelImages(imageIds: number[], species: string | null, before: ImageView[] = this.images.filter((image) => imageIds.includes(image.id))): Promise<void> {
    if (imageIds.length === 0) return;
    try {
      await api.invoke('labels:set', { items: imageIds.map((imageId) => ({ imageId, species })) });
      this.#undoKinds.push('labels');
      this.#labelHistory.push(
        before.map((image) => ({
          imageId: image.id,
          species: image.speciesLabel,
          source: (image.labelSource ?? undefined) as 'folder' | 'csv' | 'user' | undefined,
        })),
      );
      this.images = this.images.map((image) =>
        imageIds.includes(image.id) ? { ...image, speciesLabel: species, labelSource: species === null ? null : 'user' } : image,
      );
      this.notice = { kind: 'info', text: `${species === null ? 'Cleared the label of' : `Labeled as ${species}:`} ${imageIds.length} image${imageIds.length === 1 ? '' : 's'}. Undo with Ctrl+Z.` };
      if (species !== null) this.addSpecies(species);
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Renames a species everywhere (merging into `to` when it exists); its palette key stays. */
  async renameSpecies(from: string, to: string): Promise<void> {
    try {
      const { changed } = await api.invoke('species:rename', { from, to });
      const name = to.trim();
      this.palette = this.palette.includes(name) ? this.palette.filter((entry) => entry !== from) : this.palette.map((entry) => (entry === from ? name : entry));
      await this.refresh();
      this.notice = { kind: 'info', text: `Renamed ${from} to ${name} on ${changed} image${changed === 1 ? '' : 's'}.` };
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Sets a species' palette colour (null: automatic), adding the species to the palette. */
  async setSpeciesColor(name: string, color: string | null): Promise<void> {
    try {
      await api.invoke('species:set-color', { name, color });
      this.addSpecies(name);
      this.species = (await api.invoke('species:list', {})).species;
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Reverts the last labeling action. */
  async undoLabels(): Promise<void> {
    const previous = this.#labelHistory.pop();
    if (!previous) {
      this.notice = { kind: 'info', text: 'No labeling to undo.' };
      return;
    }
    this.#forget('labels');
    try {
      await api.invoke('labels:set', { items: previous });
      await this.refresh();
      this.notice = { kind: 'info', text: `Undid labeling of ${previous.length} image${previous.length === 1 ? '' : 's'}.` };
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Toggles a cluster's selection for merging. */
  toggleCluster(clusterId: number): void {
    this.selectedClusters = this.selectedClusters.includes(clusterId)
      ? this.selectedClusters.filter((id) => id !== clusterId)
      : [...this.selectedClusters, clusterId];
  }

  /** Merges the given clusters (by default the selected ones) into the first of them. */
  async merge(clusterIds: number[] = this.selectedClusters): Promise<void> {
    if (!this.run || new Set(clusterIds).size < 2) return;
    await this.#edit(async (runId) => {
      const { clusterId, moved } = await api.invoke('clusters:merge', { runId, clusterIds });
      this.selectedClusters = this.selectedClusters.filter((id) => !clusterIds.includes(id));
      return `Merged ${moved} images into cluster ${clusterId}. Undo with Ctrl+Z.`;
    });
  }

  /** Labels every image of a cluster with a species and names the cluster after it (undoable). */
  async markSpecies(clusterId: number, species: string): Promise<void> {
    await this.#edit(async (runId) => {
      const { changed } = await api.invoke('clusters:mark-species', { runId, clusterId, species });
      return `Labeled ${changed} image${changed === 1 ? '' : 's'} of cluster ${clusterId} as ${species.trim()}. Undo with Ctrl+Z.`;
    });
  }

  /** Moves images to another cluster of the latest run (a new one when `toClusterId` is null). */
  async moveImages(imageIds: number[], toClusterId: number | null): Promise<void> {
    if (imageIds.length === 0) return;
    await this.#edit(async (runId) => {
      const { clusterId, moved } = await api.invoke('clusters:move', { runId, imageIds, toClusterId });
      return `Moved ${moved} image${moved === 1 ? '' : 's'} to cluster ${clusterId}. Undo with Ctrl+Z.`;
    });
  }

  /** Splits a cluster in two. */
  async split(clusterId: number): Promise<void> {
    await this.#edit(async (runId) => {
      const { clusterIds } = await api.invoke('clusters:split', { runId, clusterId });
      return `Split cluster ${clusterId} into clusters ${clusterIds.join(' and ')}. Undo with Ctrl+Z.`;
    });
  }

  /** Reverts the last rename, merge, split or move. */
  async undo(): Promise<void> {
    await this.#edit(async (runId) => {
      const { undone } = await api.invoke('clusters:undo', { runId });
      this.#forget('clusters');
      return undone ? `Undid: ${undone}.` : 'Nothing to undo.';
    }, false);
  }

  /** Reverts the newest change of this session, a labeling or a cluster edit, whichever came last. */
  async undoLast(): Promise<void> {
    await (this.#undoKinds.at(-1) === 'labels' ? this.undoLabels() : this.undo());
  }

  #forget(kind: 'labels' | 'clusters'): void {
    const at = this.#undoKinds.lastIndexOf(kind);
    if (at >= 0) this.#undoKinds.splice(at, 1);
  }

  /** Runs a cluster edit of the latest run; `undoable`: it is one Ctrl+Z can revert (an undo itself is not). */
  async #edit(action: (runId: number) => Promise<string>, undoable = true): Promise<void> {
    if (!this.run) return;
    try {
      const message = await action(this.run.id);
      if (undoable) this.#undoKinds.push('clusters');
      await this.refresh();
      this.notice = { kind: 'info', text: message };
    } catch (error) {
      this.#fail(error);
    }
  }

  /** Builds the CSV and hands it to the browser (or Electron) as a download. */
  async exportCsv(): Promise<void> {
    try {
      const { fileName, csv, rows } = await api.invoke('export:csv', {});
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = fileName;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      this.notice = { kind: 'info', text: `Exported ${rows} images to ${fileName}.` };
    } catch (error) {
      this.#fail(error);
    }
  }

  async #startJob(kind: JobKind, start: () => Promise<{ jobId: string }>): Promise<void> {
    try {
      this.notice = null;
      const { jobId } = await start();
      this.job ??= { jobId, kind, fraction: 0, message: 'Starting' };
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    this.notice = { kind: 'error', text: (error as Error).message };
  }
}
