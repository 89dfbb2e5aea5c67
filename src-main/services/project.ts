/** A project: a folder holding `project.sqlite` and a thumbnail cache, with its store, jobs and backbone. */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Backbone } from '../core/backbones/backbone';
import { lastBlockSuffix, loadBackbone } from '../core/backbones/load-backbone';
import type { LastBlockWeights } from '../core/backbones/tfjs-to-onnx';
import { openDatabase } from '../db/database';
import { JobRunner } from './job-runner';
import { resolveModelReference } from './model-registry';
import { ProjectStore } from './project-store';
import { describeOpenError } from './storage-errors';

/** Where the app's own files are, for finding bundled models. */
export interface AppPaths {
  appRoot: string;
  resourcesPath?: string;
}

/** How a project is opened. */
export interface ProjectOpenOptions {
  /**
   * Mark jobs left `running` as interrupted (default true). A job's worker thread opens the project a second
   * time while the main thread's job is running, and passes false.
   */
  recoverJobs?: boolean;
}

/** Setting key of the model path a project clusters with. */
export const MODEL_SETTING = 'model.path';

/** An open project. Close it when done. */
export class Project {
  readonly store: ProjectStore;
  readonly jobs: JobRunner;
  #backbones = new Map<string, Promise<Backbone>>();

  private constructor(
    readonly folder: string,
    readonly defaultModelPath: string | null,
    options: ProjectOpenOptions,
  ) {
    mkdirSync(path.join(folder, 'thumbnails'), { recursive: true });
    const file = path.join(folder, 'project.sqlite');
    let database;
    try {
      database = openDatabase(file);
    } catch (error) {
      throw new Error(`Cannot open the project database ${file}: ${describeOpenError(folder, error)}`);
    }
    this.store = new ProjectStore(database);
    try {
      // Marking jobs left `running` by a crash writes, so a read-only project fails here.
      this.jobs = new JobRunner(database, options.recoverJobs ?? true);
    } catch (error) {
      database.close();
      throw new Error(`Cannot open the project ${folder}: ${describeOpenError(folder, error)}`);
    }
  }

  /** Opens the project in `folder`, creating the folder and database when missing. */
  static open(folder: string, defaultModelPath: string | null = null, options: ProjectOpenOptions = {}): Project {
    const absolute = path.resolve(folder);
    try {
      mkdirSync(absolute, { recursive: true });
    } catch (error) {
      throw new Error(`Cannot create the project folder ${absolute}: ${(error as Error).message}`);
    }
    return new Project(absolute, defaultModelPath, options);
  }

  /** Path of the thumbnail for a content hash. */
  thumbnailPath(sha256: string): string {
    return path.join(this.folder, 'thumbnails', `${sha256}.jpg`);
  }

  /** The model this project embeds with: the one last used, else the app's default. */
  modelPath(): string | null {
    return this.store.setting(MODEL_SETTING) ?? this.defaultModelPath;
  }

  /**
   * Loads (once) and returns a backbone, given a path or a registered model's id; remembers it as the project's model.
   * `inputSize` (pixels) loads the same model at another square input size, with its own id (`<id>@<size>`).
   */
  async backbone(modelPath?: string, options: { inputSize?: number; lastBlock?: 'input' | LastBlockWeights } = {}): Promise<Backbone> {
    const chosen = modelPath ? await resolveModelReference(modelPath) : this.modelPath();
    if (!chosen) {
      throw new Error('No image model found. Pass --model <path to an .onnx file or TF.js folder>, or set SPECIMEN_SORTER_MODEL.');
    }
    const { inputSize, lastBlock } = options;
    const key = `${chosen}${lastBlockSuffix(lastBlock)}${inputSize ? `@${inputSize}` : ''}`;
    let loading = this.#backbones.get(key);
    if (!loading) {
      loading = loadBackbone(chosen, { inputSize, lastBlock });
      loading.catch(() => this.#backbones.delete(key));
      this.#backbones.set(key, loading);
    }
    return loading.then((backbone) => {
      if (modelPath) this.store.setSetting(MODEL_SETTING, chosen);
      return backbone;
    });
  }

  /** Cancels jobs, frees models and closes the database. */
  async close(): Promise<void> {
    await this.jobs.shutdown();
    for (const loading of this.#backbones.values()) await (await loading.catch(() => null))?.dispose();
    this.store.database.close();
  }
}
