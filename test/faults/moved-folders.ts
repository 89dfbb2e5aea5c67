/**
 * Moved folders: imports, embeds and clusters a folder of photos, then renames the folder (and one photo,
 * and deletes another). Images are keyed by path, so this shows what breaks, then checks that
 * `specimen-sorter relink` gives every photo its new path and keeps labels, embeddings and clusters.
 */
import { cpSync, mkdirSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { linkMoths, ONNX_MODEL, runCli } from './processes';
import { count, integrity, readProject } from './project-database';
import { Tally } from './tally';

interface Snapshot {
  images: { id: number; path: string; sha256: string; species: string | null }[];
  assignments: string;
  embeddings: number;
}

function snapshot(projectFolder: string): Snapshot {
  return readProject(projectFolder, (database) => ({
    images: database
      .prepare(`SELECT i.id, i.path, i.sha256, s.name AS species FROM images i LEFT JOIN labels l ON l.image_id = i.id
        LEFT JOIN species s ON s.id = l.species_id ORDER BY i.id`)
      .all() as Snapshot['images'],
    assignments: JSON.stringify(database.prepare('SELECT run_id, image_id, cluster_id FROM assignments ORDER BY run_id, image_id').all()),
    embeddings: database.prepare('SELECT count(*) FROM embeddings').pluck().get() as number,
  }));
}

/** Runs the section in `folder`. */
export async function movedFolders(folder: string): Promise<Tally> {
  const tally = new Tally('3. moved folders (relink)');
  const original = path.join(folder, 'field trip 2024');
  const photoCount = linkMoths(original, 12);
  const projectFolder = path.join(folder, 'moved-project');
  for (const args of [
    ['import', original, '--project', projectFolder, '--labels-from-folders'],
    ['embed', '--project', projectFolder, '--model', ONNX_MODEL],
    ['cluster', '--project', projectFolder, '--k', '12', '--seed', '1'],
  ]) {
    const result = await runCli(args);
    if (result.code !== 0) throw new Error(`${args[0]} failed: ${result.stderr}`);
  }
  const before = snapshot(projectFolder);

  // The move: a new parent and name, one photo renamed inside, one deleted.
  const moved = path.join(folder, 'archive', 'Field trip 2024 (moved)');
  mkdirSync(path.dirname(moved), { recursive: true });
  renameSync(original, moved);
  tally.fault();
  const [firstSpecies, secondSpecies] = readdirSync(moved).sort();
  const renamedFrom = readdirSync(path.join(moved, firstSpecies!)).sort()[0]!;
  renameSync(path.join(moved, firstSpecies!, renamedFrom), path.join(moved, firstSpecies!, 'renamed photo.jpg'));
  const deleted = readdirSync(path.join(moved, secondSpecies!)).sort()[0]!;
  unlinkSync(path.join(moved, secondSpecies!, deleted));
  const expectedPath = (oldPath: string): string | null => {
    const relative = path.relative(original, oldPath);
    if (relative === path.join(secondSpecies!, deleted)) return null;
    if (relative === path.join(firstSpecies!, renamedFrom)) return path.join(moved, firstSpecies!, 'renamed photo.jpg');
    return path.join(moved, relative);
  };

  // What happens without relinking, on a copy: importing the new location adds every photo again.
  const copy = path.join(folder, 'moved-project-copy');
  cpSync(projectFolder, copy, { recursive: true });
  const reimport = await runCli(['import', moved, '--project', copy, '--json']);
  const copyRows = count(copy, 'SELECT count(*) FROM images');
  tally.note(
    `without relink: importing the moved folder (exit ${reimport.code}) gives ${copyRows} image rows for ${photoCount} photos, ` +
      `since images are keyed by path; the old rows keep labels and clusters but point at missing files`,
  );

  const relinked = await runCli(['relink', '--project', projectFolder, moved, '--json']);
  const summary =
    relinked.code === 0 ? (JSON.parse(relinked.stdout) as { scanned: number; relinked: { imageId: number; to: string }[]; stillMissing: string[] }) : null;
  if (!summary) tally.note(`relink failed: exit ${relinked.code}: ${relinked.stderr.slice(-400)}`);
  const after = snapshot(projectFolder);
  const newPaths = new Map(after.images.map((image) => [image.id, image.path]));
  for (const image of before.images) {
    const expected = expectedPath(image.path);
    const correct =
      expected === null
        ? Boolean(summary?.stillMissing.includes(image.path)) && newPaths.get(image.id) === image.path
        : summary?.relinked.some((item) => item.imageId === image.id && item.to === expected) === true && newPaths.get(image.id) === expected;
    tally.input(`relink ${path.relative(original, image.path)}`, correct, `now ${newPaths.get(image.id)}, expected ${expected ?? 'reported still missing'}`);
  }
  const sameImages = JSON.stringify(after.images.map(({ id, sha256, species }) => [id, sha256, species])) === JSON.stringify(before.images.map(({ id, sha256, species }) => [id, sha256, species]));
  tally.data('relink keeps image ids, hashes and labels', sameImages);
  tally.data('relink keeps cluster assignments', after.assignments === before.assignments);
  tally.data('relink keeps embeddings', after.embeddings === before.embeddings, `${after.embeddings} vs ${before.embeddings}`);
  const check = integrity(projectFolder);
  tally.data('integrity_check after relink', check === 'ok', check);

  // Importing and embedding the new location now adds nothing and re-embeds nothing.
  const again = await runCli(['import', moved, '--project', projectFolder, '--labels-from-folders', '--json']);
  const rows = count(projectFolder, 'SELECT count(*) FROM images');
  tally.data('importing the moved folder after relink adds no duplicates', again.code === 0 && rows === photoCount, `${rows} rows for ${photoCount} photos`);
  const embedAgain = await runCli(['embed', '--project', projectFolder]);
  tally.data('embedding after relink re-embeds nothing', /^Embedded 0 images/.test(embedAgain.stdout), embedAgain.stdout.trim());
  tally.note(`relink: the deleted photo keeps its row and old path and is listed as still missing`);
  return tally;
}
