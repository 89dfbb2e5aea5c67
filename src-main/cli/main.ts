/**
 * The `specimen-sorter` command line: the same services as the app, for batch work and benchmarks.
 * Results go to stdout, progress and errors to stderr; bad arguments exit with status 2.
 */
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ClusterMethod, JobKind } from '../contract/api';
import { loadBackbone } from '../core/backbones/load-backbone';
import { estimateK } from '../core/clustering/estimate-k';
import { silhouetteK, stabilityK } from '../core/clustering/k-criteria';
import { addModelFromPath, addModelFromUrl, appDataFolder, listModels, resolveModelReference } from '../services/model-registry';
import { agglomerativeWard } from '../core/clustering/agglomerative';
import { gaussianMixture } from '../core/clustering/gmm';
import { hdbscan } from '../core/clustering/hdbscan';
import { kmeans, type VectorSet } from '../core/clustering/kmeans';
import { spectralClustering } from '../core/clustering/spectral';
import { parseCsv } from '../core/export/csv';
import { decodeNpy } from '../core/export/npy';
import type { Progress } from '../core/util/progress';
import { AGGLOMERATIVE_EXACT_LIMIT, clusterProject, evaluateRun } from '../services/cluster-service';
import { candidateGrid } from '../services/k-suggestion';
import { findDefaultModel } from '../services/default-model';
import { embedMissing } from '../services/embed-service';
import { buildEmbeddingExport, buildImageCsv, buildSummaryCsv, type CsvOptions } from '../services/export-service';
import { labelFromCsv, labelFromFolders } from '../services/label-service';
import { buildHtmlReport, buildMapCsv } from '../services/report-service';
import { importFolder } from '../services/import-service';
import { paperBenchmarkJson, paperBenchmarkTable, runPaperBenchmark } from '../services/paper-benchmark';
import { Project } from '../services/project';
import { parseScales, prepareEmbeddings, SCALES_SETTING, TTA_SETTING } from '../services/embedding-space';
import type { JobContext } from '../services/job-runner';
import { relinkImages } from '../services/relink-service';
import { describeStorageError } from '../services/storage-errors';
import { trainProject, type Trainable } from '../services/train-service';
import { stderrProgress } from './progress-reporter';

/** A mistake in the command line; printed with the usage and exit status 2. */
export class UsageError extends Error {}

const USAGE = `Usage: specimen-sorter <command> [options]

Commands:
  run <folder> --model <path> --k <n> --out <file.csv> [--method kmeans] [--labels-from-folders]
               [--project <dir>] [--seed <n>]        import, embed, cluster and export in one go
  import <folder> --project <dir> [--labels-from-folders] [--json]
  embed --project <dir> [--model <path>]
  cluster --project <dir> --k <n> [--method kmeans|spectral|seeded|gmm|agglomerative|hdbscan] [--seed <n>] [--restarts <n>] [--tta on|off]
          [--scales 224,288,320] (input sizes in px whose features are averaged, saved in the project; default the model's own)
  train --project <dir> [--way 30] [--shot 5] [--query 6] [--tasks 300] [--epochs 9] [--alpha 0.1]
        [--loss proto|scatter|kcl|mcl] [--trainable head|last-blocks] [--block-tasks 100] [--learning-rate 0.001] [--seed <n>]
  train --project <dir> --resume   (goes on with the run stopped by Ctrl-C, a cancel or a crash, from its last finished epoch)
                                                      episodic fine-tuning on the labeled species
  evaluate --project <dir> [--json]                   CA, NMI, AMI, ARI of the latest run vs known labels
  export --project <dir> --out <file.csv> [--format plain|dwc] [--delimiter comma|semicolon|tab] [--bom]
         [--summary <clusters.csv>] [--embeddings <vectors.npy>] [--map <coordinates.csv>] [--report <report.html>]
  label --project <dir> (--from-folders | --from-csv <file.csv>) [--dry-run]
  relink --project <dir> <folder> [--json]            find moved or renamed photos again by content hash
  cluster-embeddings --input <vectors.npy|vectors.csv> --k <n|auto> --out <labels.csv>
                  [--method kmeans|spectral|gmm|agglomerative|hdbscan] [--restarts 10] [--seed <n>]
                  [--k-criterion eigengap|silhouette|stability] (how --k auto estimates k; default eigengap)
                  (hdbscan finds the number of clusters itself and ignores --k; its noise is cluster -1)
                                                      cluster embeddings made elsewhere
  models list | models add <path|url> [--sha256 <hex>] [--name <name>]
                                                      the image models on this machine
  benchmark paper --dataset <dir> --splits <dir> --model <path> [--runs 5] [--labeled-per-species <n>]
                  [--alphas 0,0.1,0.3,0.5] [--epochs 9] [--tasks 300] [--seed <n>] [--cache <dir>] [--json]
                  [--scales 224,288,320] (input sizes in px whose features are averaged; default 224,288,320)
                  [--trainable head,last-blocks] (what is fine-tuned; validation chooses; default both)
                  [--block-tasks 100] (tasks per epoch of last-block training)

--model takes an .onnx file or a TF.js model folder (model.json). Progress goes to stderr, results to stdout.`;

const OPTIONS = {
  project: { type: 'string' },
  model: { type: 'string' },
  k: { type: 'string' },
  method: { type: 'string' },
  seed: { type: 'string' },
  restarts: { type: 'string' },
  'k-criterion': { type: 'string' },
  out: { type: 'string' },
  'labels-from-folders': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  dataset: { type: 'string' },
  splits: { type: 'string' },
  runs: { type: 'string' },
  'labeled-per-species': { type: 'string' },
  alphas: { type: 'string' },
  epochs: { type: 'string' },
  tasks: { type: 'string' },
  cache: { type: 'string' },
  'block-tasks': { type: 'string' },
  way: { type: 'string' },
  shot: { type: 'string' },
  query: { type: 'string' },
  alpha: { type: 'string' },
  loss: { type: 'string' },
  trainable: { type: 'string' },
  'learning-rate': { type: 'string' },
  format: { type: 'string' },
  delimiter: { type: 'string' },
  bom: { type: 'boolean' },
  summary: { type: 'string' },
  embeddings: { type: 'string' },
  'from-folders': { type: 'boolean' },
  'from-csv': { type: 'string' },
  'dry-run': { type: 'boolean' },
  resume: { type: 'boolean' },
  input: { type: 'string' },
  map: { type: 'string' },
  tta: { type: 'string' },
  scales: { type: 'string' },
  report: { type: 'string' },
  sha256: { type: 'string' },
  name: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function appRoot(): string {
  // The bundle lives in out/node/; the repository (or app) root is two levels up.
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

function required(values: Values, name: 'project' | 'k' | 'out' | 'model', command: string): string {
  const value = values[name];
  if (value === undefined || value === '') throw new UsageError(`${command} needs --${name}.`);
  return value;
}

function integer(text: string | undefined, name: string, fallback: number, minimum: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < minimum) throw new UsageError(`--${name} must be a whole number of at least ${minimum}, not "${text}".`);
  return Number(text);
}

function method(values: Values): ClusterMethod {
  const chosen = values.method ?? 'kmeans';
  const known: readonly ClusterMethod[] = ['kmeans', 'spectral', 'seeded', 'gmm', 'agglomerative', 'hdbscan'];
  if (!known.includes(chosen as ClusterMethod)) throw new UsageError(`Unknown --method "${chosen}". Available: ${known.join(', ')}.`);
  return chosen as ClusterMethod;
}

function openProject(folder: string): Project {
  return Project.open(folder, findDefaultModel(appRoot()));
}

/** Sends each progress report to every listener. */
function progressTo(...listeners: ((progress: Progress) => void)[]): (progress: Progress) => void {
  return (progress) => {
    for (const listener of listeners) listener(progress);
  };
}

/**
 * Runs one step through the project's JobRunner, as the app does, so it gets a row in `jobs`: `done` or
 * `failed` when it ends, `interrupted` (marked when the project is next opened) if the process is killed.
 * Resolves to what `work` returned; rejects with the job's message when it failed.
 */
async function asJob<T>(
  project: Project,
  kind: JobKind,
  parameters: unknown,
  work: (context: JobContext) => Promise<T>,
  describe: (value: T) => string,
): Promise<T> {
  let result = null as { value: T } | null;
  let jobId: string;
  try {
    jobId = project.jobs.start(kind, parameters, async (context) => {
      const value = await work(context);
      result = { value };
      return describe(value);
    });
  } catch (error) {
    throw new Error(describeStorageError(error) ?? (error as Error).message);
  }
  // Ctrl-C cancels the job at its next step, so it ends as cancelled with its finished work kept (a second
  // Ctrl-C, the default handler again, stops the process at once).
  const cancel = () => {
    process.stderr.write('\nCancelling (Ctrl-C again to stop at once)...\n');
    project.jobs.cancel(jobId);
  };
  process.once('SIGINT', cancel);
  const finished = await project.jobs.wait(jobId).finally(() => process.off('SIGINT', cancel));
  if (finished.status === 'cancelled' && kind === 'train') throw new Error(`${finished.message} Go on from the last finished epoch with: train --project ${project.folder} --resume`);
  if (finished.status !== 'done' || !result) throw new Error(finished.message);
  return result.value;
}

async function runImport(project: Project, folder: string, labelsFromFolders: boolean) {
  const summary = await asJob(
    project,
    'import',
    { folder: path.resolve(folder), labelsFromFolders },
    ({ signal, report }) =>
      importFolder(project.store, folder, {
        labelsFromFolders,
        thumbnailPath: (sha256) => project.thumbnailPath(sha256),
        signal,
        onProgress: progressTo(report, stderrProgress('import')),
      }),
    (done) => `Imported ${done.imported} images; ${done.failed} could not be read.`,
  );
  for (const error of summary.errors) process.stderr.write(`Could not import ${error.path}: ${error.reason}\n`);
  return summary;
}

async function runEmbed(project: Project, model?: string) {
  return asJob(
    project,
    'embed',
    { model: model ? path.resolve(model) : null },
    async ({ signal, report }) => {
      const backbone = await project.backbone(model);
      process.stderr.write(`Model ${backbone.id} (${backbone.dims}-d features) on ${backbone.runtime}\n`);
      const summary = await embedMissing(project.store, backbone, { signal, onProgress: progressTo(report, stderrProgress('embed')) });
      return { backbone, summary };
    },
    ({ summary }) => `Embedded ${summary.embedded} images with ${summary.modelId} (${summary.cached} already cached, ${summary.failed} failed).`,
  );
}

/** `--scales 224,288,320`, with a usage error for anything else. */
function scalesOption(text: string): number[] {
  try {
    return parseScales(text);
  } catch (error) {
    throw new UsageError(`--scales: ${(error as Error).message}`);
  }
}

async function runCluster(project: Project, values: Values, modelPath?: string) {
  const k = integer(required(values, 'k', 'cluster'), 'k', 0, 1);
  const seed = integer(values.seed, 'seed', 0, 0);
  const restarts = integer(values.restarts, 'restarts', 10, 1);
  const chosenMethod = method(values);
  if (values.tta !== undefined) {
    if (values.tta !== 'on' && values.tta !== 'off') throw new UsageError(`--tta must be on or off, not "${values.tta}".`);
    project.store.setSetting(TTA_SETTING, values.tta);
  }
  if (values.scales !== undefined) project.store.setSetting(SCALES_SETTING, scalesOption(values.scales).join(','));
  return asJob(
    project,
    'cluster',
    { method: chosenMethod, k, seed, restarts },
    async ({ signal, report }) => {
      if (modelPath) await project.backbone(modelPath);
      const backbone = await project.backbone();
      process.stderr.write(`Model ${backbone.id} (${backbone.dims}-d features) on ${backbone.runtime}\n`);
      const { modelId } = await prepareEmbeddings(project, { signal, onProgress: progressTo(report, stderrProgress('embed')) });
      if (modelId !== backbone.id) process.stderr.write(`Clustering embeddings ${modelId}\n`);
      return clusterProject(project.store, modelId, {
        method: chosenMethod,
        k,
        seed,
        restarts,
        signal,
        onProgress: progressTo(report, stderrProgress('cluster')),
      });
    },
    (result) => `Clustering run ${result.runId}: ${result.clusterCount} clusters.`,
  );
}

function number(text: string | undefined, name: string, minimum: number, maximum: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < minimum || value > maximum) throw new UsageError(`--${name} must be a number from ${minimum} to ${maximum}, not "${text}".`);
  return value;
}

function evaluation(project: Project) {
  const run = project.store.latestRun();
  if (!run) throw new Error('This project has no clustering run yet: run `specimen-sorter cluster` first.');
  const metrics = evaluateRun(project.store, run.id);
  if (!metrics) throw new Error('No image has a known species label, so there is nothing to score against. Import with --labels-from-folders.');
  return { run, metrics };
}

function printEvaluation(project: Project, json: boolean): void {
  const { run, metrics } = evaluation(project);
  if (json) {
    const { ca, nmi, ami, ari, count, hungarian } = metrics;
    process.stdout.write(`${JSON.stringify({ run_id: run.id, method: run.method, k: run.k, seed: run.seed, model_id: run.modelId, count, ca, nmi, ami, ari, hungarian })}\n`);
    return;
  }
  process.stdout.write(
    [
      `Run ${run.id}: ${run.method}, k = ${run.k}, seed ${run.seed}, model ${run.modelId}, ${metrics.count} labeled images`,
      `metric  value`,
      `CA      ${metrics.ca.toFixed(4)}`,
      `NMI     ${metrics.nmi.toFixed(4)}`,
      `AMI     ${metrics.ami.toFixed(4)}`,
      `ARI     ${metrics.ari.toFixed(4)}`,
      `Hungarian accuracy ${(metrics.hungarian ?? Number.NaN).toFixed(4)}`,
      '',
    ].join('\n'),
  );
}

async function writeOutput(file: string, contents: string | Uint8Array): Promise<void> {
  try {
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    await fs.writeFile(file, contents);
  } catch (error) {
    throw new Error(`Cannot write ${file}: ${(error as Error).message}. Choose another path.`);
  }
}

function csvOptions(values: Values): CsvOptions {
  const format = values.format ?? 'plain';
  if (format !== 'plain' && format !== 'dwc') throw new UsageError(`Unknown --format "${format}". Available: plain, dwc.`);
  const delimiters = { comma: ',', semicolon: ';', tab: '\t' } as const;
  const delimiter = values.delimiter ?? 'comma';
  if (!(delimiter in delimiters)) throw new UsageError(`Unknown --delimiter "${delimiter}". Available: comma, semicolon, tab.`);
  return { format, delimiter: delimiters[delimiter as keyof typeof delimiters], bom: Boolean(values.bom) };
}

async function writeCsv(project: Project, out: string, options: CsvOptions = {}): Promise<number> {
  const { csv, rows } = buildImageCsv(project.store, options);
  await writeOutput(out, csv);
  return rows;
}

async function withProject<T>(folder: string, work: (project: Project) => Promise<T>): Promise<T> {
  const project = openProject(folder);
  try {
    return await work(project);
  } finally {
    await project.close();
  }
}

/** Reads vectors from a .npy (float32 or float64, C order, N x D) or a headerless or headed numeric CSV. */
async function readVectors(file: string): Promise<VectorSet> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    throw new Error(`Cannot read ${file}: ${(error as Error).message}`);
  }
  if (file.toLowerCase().endsWith('.npy')) {
    const { data, shape } = decodeNpy(bytes);
    return { data, count: shape[0], dims: shape[1] };
  }
  const rows = parseCsv(bytes.toString('utf8')).filter((row) => row.length > 1 || row[0] !== '');
  const numeric = (row: string[]) => row.every((cell) => cell.trim() !== '' && Number.isFinite(Number(cell)));
  const body = rows.length > 0 && !numeric(rows[0]!) ? rows.slice(1) : rows;
  if (body.length === 0) throw new Error(`${file} has no rows of numbers.`);
  const dims = body[0]!.length;
  const data = new Float32Array(body.length * dims);
  body.forEach((row, index) => {
    if (row.length !== dims || !numeric(row)) throw new Error(`${file} row ${index + 1}: expected ${dims} numbers.`);
    row.forEach((cell, column) => (data[index * dims + column] = Number(cell)));
  });
  return { data, count: body.length, dims };
}

/** Runs one command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (values.help ? process.stdout : process.stderr).write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  try {
    switch (command) {
      case 'run': {
        const folder = rest[0];
        if (!folder) throw new UsageError('run needs the folder of images: specimen-sorter run <folder> ...');
        const model = required(values, 'model', 'run');
        const out = required(values, 'out', 'run');
        required(values, 'k', 'run');
        method(values);
        const projectFolder =
          values.project ??
          path.join(os.tmpdir(), `specimen-sorter-${createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 12)}`);
        process.stderr.write(`Project: ${projectFolder}\n`);
        const started = performance.now();
        await withProject(projectFolder, async (project) => {
          const imported = await runImport(project, folder, Boolean(values['labels-from-folders']));
          const { runId, metrics } = await runCluster(project, values, model);
          const rows = await writeCsv(project, out);
          const seconds = (performance.now() - started) / 1000;
          process.stdout.write(
            `Imported ${imported.imported} images (${imported.failed} unreadable), clustered into run ${runId}, wrote ${rows} rows to ${out} in ${seconds.toFixed(1)} s\n`,
          );
          if (metrics) process.stdout.write(`CA ${metrics.ca.toFixed(4)}  NMI ${metrics.nmi.toFixed(4)}  AMI ${metrics.ami.toFixed(4)}  ARI ${metrics.ari.toFixed(4)}\n`);
        });
        return 0;
      }
      case 'import': {
        const folder = rest[0];
        if (!folder) throw new UsageError('import needs the folder of images: specimen-sorter import <folder> --project <dir>');
        const projectFolder = required(values, 'project', 'import');
        const summary = await withProject(projectFolder, (project) => runImport(project, folder, Boolean(values['labels-from-folders'])));
        if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else process.stdout.write(`Imported ${summary.imported} images; ${summary.failed} could not be read.\n`);
        return 0;
      }
      case 'embed': {
        const projectFolder = required(values, 'project', 'embed');
        const summary = await withProject(projectFolder, async (project) => (await runEmbed(project, values.model)).summary);
        process.stdout.write(
          `Embedded ${summary.embedded} images with ${summary.modelId} on ${summary.runtime} in ${summary.seconds.toFixed(1)} s (${summary.cached} already cached, ${summary.failed} failed).\n`,
        );
        return 0;
      }
      case 'cluster': {
        const projectFolder = required(values, 'project', 'cluster');
        method(values);
        const result = await withProject(projectFolder, (project) => runCluster(project, values, values.model));
        process.stdout.write(`Clustering run ${result.runId}: ${result.clusterCount} clusters.\n`);
        if (result.metrics) process.stdout.write(`ARI against known labels: ${result.metrics.ari.toFixed(4)}\n`);
        return 0;
      }
      case 'train': {
        const projectFolder = required(values, 'project', 'train');
        const settingFlags = ['way', 'shot', 'query', 'tasks', 'epochs', 'alpha', 'loss', 'trainable', 'learning-rate', 'block-tasks', 'seed'] as const;
        const resume = Boolean(values.resume);
        const clashing = settingFlags.filter((flag) => values[flag] !== undefined);
        if (resume && clashing.length > 0) {
          throw new UsageError(`train --resume goes on with the stopped run's own settings; leave out ${clashing.map((flag) => `--${flag}`).join(', ')}.`);
        }
        const loss = values.loss ?? 'proto';
        if (!['proto', 'scatter', 'kcl', 'mcl'].includes(loss)) throw new UsageError(`Unknown --loss "${loss}". Available: proto, scatter, kcl, mcl.`);
        const trainable = values.trainable ?? 'head';
        if (!['head', 'last-blocks', 'all'].includes(trainable)) throw new UsageError(`Unknown --trainable "${trainable}". Available: head, last-blocks, all.`);
        const settings = {
          way: integer(values.way, 'way', 30, 2),
          shot: integer(values.shot, 'shot', 5, 1),
          query: integer(values.query, 'query', 6, 1),
          tasksPerEpoch: integer(values.tasks, 'tasks', 300, 1),
          epochs: integer(values.epochs, 'epochs', 9, 1),
          alpha: number(values.alpha, 'alpha', 0, 1) ?? 0.1,
          learningRate: number(values['learning-rate'], 'learning-rate', 1e-7, 1) ?? 1e-3,
          loss: loss as 'proto' | 'scatter' | 'kcl' | 'mcl',
          trainable: trainable as Trainable,
          blockTasksPerEpoch: integer(values['block-tasks'], 'block-tasks', 100, 1),
          seed: integer(values.seed, 'seed', 0, 0),
        };
        const result = await withProject(projectFolder, (project) =>
          asJob(
            project,
            'train',
            resume ? { resume } : settings,
            ({ signal, report }) =>
              trainProject(project, {
                ...settings,
                resume,
                signal,
                onProgress: progressTo(report, stderrProgress('train')),
                onEpoch: (record) =>
                  process.stderr.write(
                    `epoch ${record.epoch}: loss ${record.loss.toFixed(4)}, episode accuracy ${record.accuracy.toFixed(3)}, validation CA ${record.validationCa.toFixed(3)}\n`,
                  ),
              }),
            (trained) => `Checkpoint ${trained.checkpointId}, best epoch ${trained.bestEpoch}.`,
          ),
        );
        process.stdout.write(
          `Checkpoint ${result.checkpointId}: trained on ${result.trainSpecies.length} species, ${result.crossValidationFolds > 0 ? `cross-validated in ${result.crossValidationFolds} folds` : `validated on ${result.validationSpecies.length}`}, best epoch ${result.bestEpoch}, ${result.seconds.toFixed(1)} s. Clustering now uses ${result.embeddingModelId}.\n`,
        );
        return 0;
      }
      case 'evaluate': {
        const projectFolder = required(values, 'project', 'evaluate');
        await withProject(projectFolder, async (project) => printEvaluation(project, Boolean(values.json)));
        return 0;
      }
      case 'export': {
        const projectFolder = required(values, 'project', 'export');
        const out = required(values, 'out', 'export');
        const options = csvOptions(values);
        await withProject(projectFolder, async (project) => {
          const rows = await writeCsv(project, out, options);
          process.stdout.write(`Wrote ${rows} rows to ${out}\n`);
          if (values.summary) {
            const summary = buildSummaryCsv(project.store, options);
            await writeOutput(values.summary, summary.csv);
            process.stdout.write(`Wrote ${summary.rows} clusters to ${values.summary}\n`);
          }
          if (values.map) {
            const map = buildMapCsv(project.store);
            await writeOutput(values.map, map.csv);
            process.stdout.write(`Wrote ${map.rows} map coordinates to ${values.map}\n`);
          }
          if (values.report) {
            await writeOutput(values.report, buildHtmlReport(project.store, (sha256) => project.thumbnailPath(sha256), project.folder));
            process.stdout.write(`Wrote the report to ${values.report}\n`);
          }
          if (values.embeddings) {
            const { modelId } = await prepareEmbeddings(project, { onProgress: stderrProgress('embed') });
            const exported = buildEmbeddingExport(project.store, modelId);
            const indexFile = values.embeddings.replace(/\.npy$/i, '') + '.index.csv';
            await writeOutput(values.embeddings, exported.npy);
            await writeOutput(indexFile, exported.indexCsv);
            process.stdout.write(`Wrote ${exported.count} x ${exported.dims} embeddings (${modelId}) to ${values.embeddings} and ${indexFile}\n`);
          }
        });
        return 0;
      }
      case 'label': {
        const projectFolder = required(values, 'project', 'label');
        const fromCsv = values['from-csv'];
        if (Boolean(values['from-folders']) === Boolean(fromCsv)) throw new UsageError('label needs exactly one of --from-folders or --from-csv <file.csv>.');
        await withProject(projectFolder, async (project) => {
          if (!fromCsv) {
            process.stdout.write(`Labeled ${labelFromFolders(project.store)} images with their folder names.\n`);
            return;
          }
          const { match, preview } = await labelFromCsv(project.store, fromCsv, { dryRun: Boolean(values['dry-run']) });
          for (const row of match.unmatched) process.stderr.write(`Row ${row.row} (${row.value}): ${row.reason}\n`);
          for (const row of match.ambiguous) process.stderr.write(`Row ${row.row} (${row.value}): ${row.reason}\n`);
          const verb = values['dry-run'] ? 'Would label' : 'Labeled';
          process.stdout.write(
            `${verb} ${preview.imageCount} images with ${preview.species.length} species; ${preview.unmatchedCount} rows matched no image, ${preview.ambiguousCount} were ambiguous.\n`,
          );
        });
        return 0;
      }
      case 'relink': {
        const folder = rest[0];
        if (!folder) throw new UsageError('relink needs the folder the photos are in now: specimen-sorter relink --project <dir> <folder>');
        const projectFolder = required(values, 'project', 'relink');
        const summary = await withProject(projectFolder, (project) => relinkImages(project.store, folder, { onProgress: stderrProgress('relink') }));
        for (const missing of summary.stillMissing) process.stderr.write(`Still missing: ${missing}\n`);
        if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
        else process.stdout.write(`Relinked ${summary.relinked.length} images to files under ${folder}; ${summary.stillMissing.length} are still missing.\n`);
        return 0;
      }
      case 'models': {
        if (rest[0] === 'list') {
          const models = await listModels();
          if (models.length === 0) process.stdout.write(`No models added yet (folder ${appDataFolder()}). Add one with: specimen-sorter models add <path|url>\n`);
          for (const model of models) process.stdout.write(`${model.id}\t${model.format}\t${model.name}\t${model.source}\n`);
          return 0;
        }
        if (rest[0] === 'add' && rest[1]) {
          const reference = rest[1];
          const manifest = /^https?:\/\//.test(reference)
            ? await addModelFromUrl(reference, { sha256: values.sha256, name: values.name, onProgress: stderrProgress('download') })
            : await addModelFromPath(reference, { name: values.name });
          const backbone = await loadBackbone(await resolveModelReference(manifest.id));
          process.stdout.write(`Added ${manifest.id} (${manifest.format}, ${backbone.dims}-d features on ${backbone.runtime}). Use it with --model ${manifest.id}\n`);
          await backbone.dispose();
          return 0;
        }
        throw new UsageError('Usage: specimen-sorter models list | models add <path|url> [--sha256 <hex>] [--name <name>]');
      }
      case 'cluster-embeddings': {
        const input = values.input;
        if (!input) throw new UsageError('cluster-embeddings needs --input <vectors.npy|vectors.csv>.');
        const out = required(values, 'out', 'cluster-embeddings');
        const clusterMethod = method(values);
        const kText = clusterMethod === 'hdbscan' ? (values.k ?? 'auto') : required(values, 'k', 'cluster-embeddings');
        if (clusterMethod === 'seeded') throw new UsageError('cluster-embeddings has no labels to seed with: use --method kmeans, spectral, gmm, agglomerative or hdbscan.');
        const vectors = await readVectors(input);
        const seed = integer(values.seed, 'seed', 0, 0);
        let k: number;
        if (clusterMethod === 'hdbscan') {
          // HDBSCAN finds the number of clusters itself; --k (a number or auto) is accepted and not used.
          k = 0;
        } else if (kText === 'auto') {
          const criterion = values['k-criterion'] ?? 'eigengap';
          if (criterion === 'eigengap') {
            const estimate = await estimateK(vectors, { seed, onProgress: stderrProgress('estimate k') });
            k = estimate.k;
            process.stderr.write(`Eigengap estimate: k = ${k} (top eigenvalues ${estimate.eigenvalues.slice(0, Math.min(12, estimate.eigenvalues.length)).map((value) => value.toFixed(4)).join(', ')})\n`);
          } else if (criterion === 'silhouette' || criterion === 'stability') {
            const ks = candidateGrid(Math.min(50, vectors.count - 1));
            const options = { ks, seed, onProgress: stderrProgress(`${criterion} of k`) };
            const found = criterion === 'silhouette' ? await silhouetteK(vectors, options) : await stabilityK(vectors, options);
            k = found.k;
            process.stderr.write(`${criterion === 'silhouette' ? 'Silhouette' : 'Stability'} estimate: k = ${k} (${found.ks.map((candidate, index) => `${candidate}: ${found.values[index]!.toFixed(3)}`).join(', ')})\n`);
          } else {
            throw new UsageError(`Unknown --k-criterion "${criterion}". Available: eigengap, silhouette, stability.`);
          }
        } else {
          k = integer(kText, 'k', 0, 1);
        }
        const started = performance.now();
        let labels: Int32Array;
        if (clusterMethod === 'spectral') {
          labels = (await spectralClustering(vectors, { k, seed, onProgress: stderrProgress('spectral') })).labels;
        } else if (clusterMethod === 'gmm') {
          labels = (await gaussianMixture(vectors, { k, seed, onProgress: stderrProgress('gmm') })).labels;
        } else if (clusterMethod === 'agglomerative') {
          // Exact Ward up to 5,000 vectors, Ward on a 10-neighbour graph above (as the app's cluster service).
          const connectivityNeighbors = vectors.count > AGGLOMERATIVE_EXACT_LIMIT ? 10 : undefined;
          labels = (await agglomerativeWard(vectors, { k, connectivityNeighbors, onProgress: stderrProgress('agglomerative') })).labels;
        } else if (clusterMethod === 'hdbscan') {
          const density = await hdbscan(vectors, { onProgress: stderrProgress('hdbscan') });
          labels = density.labels;
          k = density.clusterCount;
          process.stderr.write(`HDBSCAN: ${density.clusterCount} clusters, ${density.noiseCount} noise vectors (cluster -1)${density.exact ? '' : ', spanning tree from the kNN graph'}\n`);
        } else {
          labels = (await kmeans(vectors, { k, seed, restarts: integer(values.restarts, 'restarts', 10, 1), onProgress: stderrProgress('kmeans') })).labels;
        }
        const rows = Array.from(labels, (cluster, index) => `${index},${cluster}\r\n`);
        await writeOutput(out, `index,cluster\r\n${rows.join('')}`);
        process.stdout.write(`Clustered ${vectors.count} vectors of ${vectors.dims} dimensions into ${k} clusters (${clusterMethod}) in ${((performance.now() - started) / 1000).toFixed(2)} s; wrote ${out}\n`);
        return 0;
      }
      case 'benchmark': {
        if (rest[0] !== 'paper') throw new UsageError('Available benchmarks: benchmark paper --dataset <dir> --splits <dir> --model <path>');
        const dataset = values.dataset;
        const splits = values.splits;
        if (!dataset || !splits) throw new UsageError('benchmark paper needs --dataset and --splits.');
        const model = required(values, 'model', 'benchmark paper');
        const alphas = (values.alphas ?? '0,0.1,0.3,0.5').split(',').map((text) => {
          const alpha = Number(text);
          if (!(alpha >= 0 && alpha <= 1)) throw new UsageError(`--alphas must be numbers between 0 and 1, not "${text}".`);
          return alpha;
        });
        const trainables = (values.trainable ?? 'head,last-blocks').split(',').map((text) => {
          if (text !== 'head' && text !== 'last-blocks') throw new UsageError(`benchmark paper --trainable takes head, last-blocks or both ("head,last-blocks"), not "${text}".`);
          return text;
        });
        const cacheFolder =
          values.cache ??
          path.join(os.tmpdir(), `specimen-sorter-benchmark-${createHash('sha256').update(`${path.resolve(dataset)}|${path.resolve(model)}`).digest('hex').slice(0, 12)}`);
        const log = (line: string) => process.stderr.write(`${line}\n`);
        log(`Cache: ${cacheFolder}`);
        const result = await runPaperBenchmark({
          dataset,
          splits,
          model,
          runs: integer(values.runs, 'runs', 5, 1),
          labeledPerSpecies: integer(values['labeled-per-species'], 'labeled-per-species', 0, 0),
          alphas,
          seed: integer(values.seed, 'seed', 0, 0),
          scales: values.scales === undefined ? undefined : scalesOption(values.scales),
          cacheFolder,
          training: {
            epochs: integer(values.epochs, 'epochs', 9, 1),
            tasksPerEpoch: integer(values.tasks, 'tasks', 300, 1),
          },
          trainables,
          lastBlockTasks: integer(values['block-tasks'], 'block-tasks', 100, 1),
          onProgress: stderrProgress('benchmark'),
          log,
        });
        process.stdout.write(`${paperBenchmarkTable(result)}\n`);
        if (values.json) process.stdout.write(`${paperBenchmarkJson(result)}\n`);
        return 0;
      }
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    process.stderr.write(`Error: ${(error as Error).message}\n`);
    return 1;
  }
}

/** Entry point of the bundled CLI. */
export function runCli(): void {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`Error: ${(error as Error).stack ?? error}\n`);
      process.exitCode = 1;
    },
  );
}
