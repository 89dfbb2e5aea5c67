/**
 * Crash safety: kills the CLI with SIGKILL at a seeded random moment during import, embedding, training
 * and clustering of the moth photos, then checks the database (integrity_check), that finished batches
 * were kept, that the killed job is marked `interrupted` once the project is reopened, and that running
 * the same command again completes with the full counts and no duplicates.
 */
import { deriveSeed } from '../../src-main/core/util/random';
import { type KillResult, lastCount, ONNX_MODEL, runCli, runCliAndKill } from './processes';
import { count, integrity, jobs, reopen } from './project-database';
import { Tally } from './tally';

const IMPORT_BATCH = 100;
const EMBED_BATCH = 32;

/** Checks shared by every kill; returns the killed job's id, or null when no kill happened. */
async function afterKill(tally: Tally, step: string, projectFolder: string, kill: KillResult, kind: string): Promise<string | null> {
  if (!kill.killed) {
    tally.input(`${step}: kill`, false, `the command ended on its own (exit ${kill.code}) before the kill at ${kill.thresholdPercent}%`);
    return null;
  }
  tally.fault();
  const last = kill.progress.at(-1);
  tally.note(`${step}: SIGKILL after ${kill.thresholdPercent}% + ${kill.delayMs} ms; last progress seen: ${last ? `${last.percent}% ${last.message}` : 'none'}`);
  const check = integrity(projectFolder);
  tally.data(`${step}: integrity_check after the kill`, check === 'ok', check);
  const running = jobs(projectFolder).filter((job) => job.status === 'running');
  await reopen(projectFolder);
  const killed = running.length === 1 && running[0]!.kind === kind ? running[0]! : null;
  const after = killed ? jobs(projectFolder).find((job) => job.id === killed.id) : undefined;
  tally.input(
    `${step}: the killed job is reported as interrupted after reopening`,
    after?.status === 'interrupted',
    `running rows before reopening: ${JSON.stringify(running)}; after: ${JSON.stringify(after)}`,
  );
  return killed?.id ?? null;
}

/** After the re-run: the killed job stays `interrupted` and the re-run's job is `done`. */
function jobsAfterRerun(tally: Tally, step: string, projectFolder: string, killedId: string | null, kind: string): void {
  const rows = jobs(projectFolder);
  const killed = rows.find((job) => job.id === killedId);
  const last = rows.filter((job) => job.kind === kind).at(-1);
  tally.data(
    `${step}: job rows after the re-run (killed one interrupted, new one done)`,
    killed?.status === 'interrupted' && last?.status === 'done' && last.id !== killedId,
    JSON.stringify(rows.filter((job) => job.kind === kind)),
  );
}

/** Runs the section on a project of its own; `photos` is the folder of `photoCount` moth photos. */
export async function crashSafety(projectFolder: string, photos: string, photoCount: number, seed: number): Promise<Tally> {
  const tally = new Tally('2. crash safety (kill -9)');

  // Import, labels from folder names.
  const importArgs = ['import', photos, '--project', projectFolder, '--labels-from-folders', '--json'];
  const importKill = await runCliAndKill(importArgs, { label: 'import', seed: deriveSeed(seed, 1), fromPercent: 20, toPercent: 80 });
  const importId = await afterKill(tally, 'import', projectFolder, importKill, 'import');
  const imported = lastCount(importKill.progress, /^Imported (\d+) of (\d+) files/);
  const keptImages = count(projectFolder, 'SELECT count(*) FROM images');
  tally.data(
    'import: images kept after the kill',
    keptImages >= imported.done - IMPORT_BATCH,
    `${keptImages} rows; ${imported.done} reported done`,
  );
  tally.note(`import: ${keptImages} image rows kept after the kill; ${imported.done} had been reported done`);
  tally.data('import: every kept image has its folder label', count(projectFolder, 'SELECT count(*) FROM labels') === keptImages);
  const importRerun = await runCli(importArgs);
  const importSummary = importRerun.code === 0 ? (JSON.parse(importRerun.stdout) as { imported: number; failed: number }) : null;
  tally.data(
    'import: the re-run completes',
    importSummary?.imported === photoCount && importSummary.failed === 0,
    `exit ${importRerun.code}, ${importRerun.stdout.slice(0, 200)} ${importRerun.stderr.slice(-300)}`,
  );
  const images = count(projectFolder, 'SELECT count(*) FROM images');
  const distinctPaths = count(projectFolder, 'SELECT count(DISTINCT path) FROM images');
  const labeled = count(projectFolder, 'SELECT count(*) FROM labels');
  tally.data('import: full counts, no duplicates', images === photoCount && distinctPaths === photoCount && labeled === photoCount, `${images} rows, ${distinctPaths} paths, ${labeled} labels`);
  jobsAfterRerun(tally, 'import', projectFolder, importId, 'import');

  // Embedding.
  const distinct = count(projectFolder, "SELECT count(DISTINCT sha256) FROM images WHERE status = 'ok'");
  const embedArgs = ['embed', '--project', projectFolder, '--model', ONNX_MODEL];
  const embedKill = await runCliAndKill(embedArgs, { label: 'embed', seed: deriveSeed(seed, 2), fromPercent: 20, toPercent: 80 });
  const embedId = await afterKill(tally, 'embed', projectFolder, embedKill, 'embed');
  const embedded = lastCount(embedKill.progress, /^Embedded (\d+) of (\d+) images/);
  const keptEmbeddings = count(projectFolder, 'SELECT count(*) FROM embeddings');
  tally.data('embed: embeddings kept after the kill', keptEmbeddings >= embedded.done - EMBED_BATCH, `${keptEmbeddings} kept; ${embedded.done} reported done`);
  tally.note(`embed: ${keptEmbeddings} embeddings kept after the kill; ${embedded.done} had been reported done`);
  const embedRerun = await runCli(embedArgs);
  const newlyEmbedded = Number(/Embedded (\d+) images/.exec(embedRerun.stdout)?.[1] ?? -1);
  tally.data(
    'embed: the re-run embeds only what was missing',
    embedRerun.code === 0 && newlyEmbedded === distinct - keptEmbeddings,
    `exit ${embedRerun.code}; embedded ${newlyEmbedded}, expected ${distinct - keptEmbeddings}: ${embedRerun.stdout.trim()} ${embedRerun.stderr.slice(-300)}`,
  );
  const embeddings = count(projectFolder, 'SELECT count(*) FROM embeddings');
  const without = count(
    projectFolder,
    "SELECT count(*) FROM images i WHERE status = 'ok' AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.sha256 = i.sha256)",
  );
  tally.data('embed: full counts, one embedding per distinct photo', embeddings === distinct && without === 0, `${embeddings} embeddings for ${distinct} distinct photos, ${without} images without`);
  jobsAfterRerun(tally, 'embed', projectFolder, embedId, 'embed');

  // Training (the mirrored views are embedded first, 0-20%; the kill lands in the episodes).
  const trainArgs = ['train', '--project', projectFolder, '--epochs', '9', '--tasks', '60'];
  const plainBefore = count(projectFolder, "SELECT count(*) FROM embeddings WHERE model_id NOT LIKE '%#%' AND model_id NOT LIKE '%+adapter-%'");
  const trainKill = await runCliAndKill(trainArgs, { label: 'train', seed: deriveSeed(seed, 3), fromPercent: 25, toPercent: 80 });
  const trainId = await afterKill(tally, 'train', projectFolder, trainKill, 'train');
  const flipReported = lastCount(trainKill.progress, /^Embedded (\d+) of (\d+) images/);
  const flipKept = count(projectFolder, "SELECT count(*) FROM embeddings WHERE model_id LIKE '%#flip'");
  const plainAfter = count(projectFolder, "SELECT count(*) FROM embeddings WHERE model_id NOT LIKE '%#%' AND model_id NOT LIKE '%+adapter-%'");
  tally.data('train: backbone embeddings untouched by the kill', plainAfter === plainBefore, `${plainAfter} after, ${plainBefore} before`);
  tally.data('train: mirrored-view embeddings kept', flipKept >= flipReported.done - EMBED_BATCH, `${flipKept} kept; ${flipReported.done} reported done`);
  const checkpointsAfterKill = count(projectFolder, 'SELECT count(*) FROM checkpoints');
  tally.note(`train: ${checkpointsAfterKill} checkpoints after the kill (training writes one only when it has finished)`);
  // Each finished epoch is stored: the run goes on from there with --resume (from the start when none finished).
  const stoppedEpoch = count(projectFolder, 'SELECT coalesce(max(epoch), 0) FROM training_runs');
  tally.note(`train: ${stoppedEpoch > 0 ? `resumed after epoch ${stoppedEpoch} of 9` : 'no epoch had finished; trained again from the start'}`);
  const trainRerun = await runCli(stoppedEpoch > 0 ? ['train', '--project', projectFolder, '--resume'] : trainArgs);
  const epochsKept = count(projectFolder, 'SELECT json_array_length(history) FROM checkpoints WHERE id = (SELECT max(id) FROM checkpoints)');
  const runsLeft = count(projectFolder, 'SELECT count(*) FROM training_runs');
  tally.data('train: the finished run holds all 9 epochs and is no longer stored for resuming', epochsKept === 9 && runsLeft === 0, `${epochsKept} epochs, ${runsLeft} stored runs`);
  const checkpoints = count(projectFolder, 'SELECT count(*) FROM checkpoints');
  const active = count(projectFolder, "SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'training.checkpoint'");
  const latest = count(projectFolder, 'SELECT max(id) FROM checkpoints');
  const adapted = count(projectFolder, "SELECT count(*) FROM embeddings WHERE model_id LIKE '%+adapter-' || ?", String(latest));
  tally.data(
    'train: the re-run completes with one new active checkpoint and adapted embeddings for every photo',
    trainRerun.code === 0 && checkpoints === checkpointsAfterKill + 1 && active === latest && adapted === distinct,
    `exit ${trainRerun.code}; ${checkpoints} checkpoints, active ${active}, ${adapted} adapted embeddings of ${distinct}: ${trainRerun.stderr.slice(-300)}`,
  );
  jobsAfterRerun(tally, 'train', projectFolder, trainId, 'train');

  // Clustering.
  const clusterArgs = ['cluster', '--project', projectFolder, '--k', '200', '--method', 'kmeans', '--restarts', '50'];
  const runsBefore = count(projectFolder, 'SELECT count(*) FROM cluster_runs');
  const assignmentsBefore = count(projectFolder, 'SELECT count(*) FROM assignments');
  const clusterKill = await runCliAndKill(clusterArgs, { label: 'cluster', seed: deriveSeed(seed, 4), fromPercent: 20, toPercent: 80 });
  const clusterId = await afterKill(tally, 'cluster', projectFolder, clusterKill, 'cluster');
  const runsAfterKill = count(projectFolder, 'SELECT count(*) FROM cluster_runs');
  const assignmentsAfterKill = count(projectFolder, 'SELECT count(*) FROM assignments');
  tally.data(
    'cluster: no half-saved run after the kill',
    runsAfterKill === runsBefore && assignmentsAfterKill === assignmentsBefore,
    `${runsAfterKill} runs, ${assignmentsAfterKill} assignments (before: ${runsBefore}, ${assignmentsBefore})`,
  );
  const clusterRerun = await runCli(clusterArgs);
  const runs = count(projectFolder, 'SELECT count(*) FROM cluster_runs');
  const runId = count(projectFolder, 'SELECT max(id) FROM cluster_runs');
  const assigned = count(projectFolder, 'SELECT count(*) FROM assignments WHERE run_id = ?', runId);
  const assignedImages = count(projectFolder, 'SELECT count(DISTINCT image_id) FROM assignments WHERE run_id = ?', runId);
  const readable = count(projectFolder, "SELECT count(*) FROM images WHERE status = 'ok'");
  tally.data(
    'cluster: the re-run saves one run with every image assigned once',
    clusterRerun.code === 0 && runs === runsBefore + 1 && assigned === readable && assignedImages === readable,
    `exit ${clusterRerun.code}; ${runs} runs, ${assigned} assignments for ${readable} images: ${clusterRerun.stderr.slice(-300)}`,
  );
  jobsAfterRerun(tally, 'cluster', projectFolder, clusterId, 'cluster');

  const final = integrity(projectFolder);
  tally.data('integrity_check at the end', final === 'ok', final);
  return tally;
}
