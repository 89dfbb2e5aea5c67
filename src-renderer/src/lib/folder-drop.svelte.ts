/**
 * Importing folders dropped on the window or on the drop zone, one code path for both. In Electron a dropped
 * folder has a real path (through the preload) and is imported in place; in a browser served by the bridge its
 * files are uploaded into the project first (`uploads/<batch>/`) and that copy is imported.
 */
import { api, uploadFile } from './api';
import type { ProjectState } from './project.svelte';

/** Import settings shared by the Photos panel and the window-wide drop target. */
export const importOptions = $state({ labelsFromFolders: true });

/** What a drop is doing now, for the drop zone and the overlay: null when idle. */
export const dropStatus = $state<{ text: string | null }>({ text: null });

/** True when a drag carries files or folders (not text or a link dragged within the page). */
export function dragHasFiles(event: DragEvent): boolean {
  return [...(event.dataTransfer?.types ?? [])].includes('Files');
}

/**
 * Imports what was dropped. Reads the DataTransfer at once, since the browser empties it when the drop
 * handler returns, then uploads (browser) or imports each folder in turn (Electron; one job at a time).
 */
export async function importDrop(dataTransfer: DataTransfer, project: ProjectState): Promise<void> {
  const items = [...dataTransfer.items].filter((item) => item.kind === 'file');
  const entries = items.map((item) => item.webkitGetAsEntry());
  const files = items.map((item) => item.getAsFile());
  const labelsFromFolders = importOptions.labelsFromFolders;
  if (api.pathForFile) {
    const folders = files
      .map((file, index) => (file && entries[index]?.isDirectory !== false ? api.pathForFile!(file) : null))
      .filter((folder): folder is string => folder !== null);
    if (folders.length === 0) {
      project.notice = { kind: 'error', text: 'Drop folders of photos; single photos are imported with their folder, using Import folder.' };
      return;
    }
    await importFoldersInTurn(folders, project, labelsFromFolders);
    return;
  }
  if (!uploadFile) return;
  const batch = `drop-${Date.now()}`;
  let uploadedFolder: string | null = null;
  let count = 0;
  try {
    for (const [index, entry] of entries.entries()) {
      // An entry is missing for files a page made itself (a synthetic drop); their relative path is all there is.
      const found = entry ? walk(entry, '') : single(files[index] ?? null);
      for await (const { path, file } of found) {
        uploadedFolder = await uploadFile(batch, path, file);
        dropStatus.text = `Copying dropped files into the project: ${++count}`;
      }
    }
  } catch (error) {
    project.notice = { kind: 'error', text: `Could not copy the dropped files: ${(error as Error).message}` };
    return;
  } finally {
    dropStatus.text = null;
  }
  if (uploadedFolder) await project.importFolder(uploadedFolder, labelsFromFolders);
  else project.notice = { kind: 'error', text: 'Nothing was dropped that could be read. Drop a folder of photos.' };
}

// Several folders in Electron: one import job runs at a time, so each waits for the one before it.
async function importFoldersInTurn(folders: string[], project: ProjectState, labelsFromFolders: boolean): Promise<void> {
  try {
    for (const [index, folder] of folders.entries()) {
      if (folders.length > 1) dropStatus.text = `Importing dropped folder ${index + 1} of ${folders.length}: ${folder}`;
      await project.importFolder(folder, labelsFromFolders);
      if (index < folders.length - 1) await waitForJobEnd(project);
    }
  } finally {
    dropStatus.text = null;
  }
}

function waitForJobEnd(project: ProjectState): Promise<void> {
  if (!project.job) return Promise.resolve();
  const jobId = project.job.jobId;
  return new Promise((resolve) => {
    const stop = api.on('jobs:finished', (finished) => {
      if (finished.jobId !== jobId) return;
      stop();
      resolve();
    });
  });
}

// Walks a dropped folder (File System Entry API), yielding each file with its path relative to the drop.
async function* walk(entry: FileSystemEntry, prefix: string): AsyncGenerator<{ path: string; file: File }> {
  if (entry.name.startsWith('.')) return; // .DS_Store, .thumbnails: never photos
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    yield { path: `${prefix}${entry.name}`, file };
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) yield* walk(child, `${prefix}${entry.name}/`);
  }
}

async function* single(file: File | null): AsyncGenerator<{ path: string; file: File }> {
  if (file) yield { path: file.webkitRelativePath || file.name, file };
}
