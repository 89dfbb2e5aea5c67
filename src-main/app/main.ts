/**
 * Electron's main process: the window, the photo protocol (thumbnails and viewer images) and IPC wiring. It only wires; the work is
 * done by the services, the same ones the command line and the bridge use.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, net, protocol, session, shell } from 'electron';
import type { Envelope } from '../contract/api';
import { isChannel, parseRequest } from '../contract/schemas';
import { ELECTRON_CONTENT_SECURITY_POLICY, imageRequestId, isOwnRenderer, isSafeExternalUrl, secureWebPreferences, thumbnailRequestId } from './security';
import { createApiHandlers } from '../services/api-handlers';
import { findDefaultModel } from '../services/default-model';
import { imagePreviewFile } from '../services/image-preview';
import { Project } from '../services/project';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererIndex = path.join(here, '../renderer/index.html');

protocol.registerSchemesAsPrivileged([{ scheme: 'specimen', privileges: { standard: true, secure: true } }]);

function projectFolderFromArguments(): string {
  const index = process.argv.indexOf('--project');
  const given = index >= 0 ? process.argv[index + 1] : undefined;
  return given ?? path.join(app.getPath('userData'), 'default-project');
}

async function start(): Promise<void> {
  await app.whenReady();
  const project = Project.open(projectFolderFromArguments(), findDefaultModel(app.getAppPath(), process.resourcesPath));
  let window: BrowserWindow | null = null;
  const handlers = createApiHandlers(project, {
    async pickFolder() {
      const options = { title: 'Import a folder of specimen photos', properties: ['openDirectory' as const] };
      const result = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
  });

  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [ELECTRON_CONTENT_SECURITY_POLICY] } });
  });
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));

  protocol.handle('specimen', async (request) => {
    // specimen://images/<id>: the viewer's screen-sized copy of the original, written once and cached.
    const viewId = imageRequestId(request.url);
    if (viewId !== null) {
      try {
        const file = await imagePreviewFile(project, viewId);
        return file ? net.fetch(pathToFileURL(file).href) : new Response('Not found', { status: 404 });
      } catch (error) {
        return new Response((error as Error).message, { status: 404 });
      }
    }
    const imageId = thumbnailRequestId(request.url);
    const image = imageId === null ? null : project.store.image(imageId);
    if (!image?.sha256 || image.status !== 'ok') return new Response('Not found', { status: 404 });
    return net.fetch(pathToFileURL(project.thumbnailPath(image.sha256)).href);
  });

  ipcMain.handle('api:invoke', async (event, channel: unknown, request: unknown): Promise<Envelope<unknown>> => {
    if (!isOwnRenderer(event.senderFrame?.url, rendererIndex)) return { ok: false, error: 'Request from an unknown page was refused.' };
    if (typeof channel !== 'string' || !isChannel(channel)) return { ok: false, error: `Unknown channel ${String(channel)}` };
    try {
      const handler = handlers[channel] as (request: unknown) => Promise<unknown>;
      return { ok: true, value: await handler(parseRequest(channel, request)) };
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  });

  project.jobs.subscribe({
    progress: (payload) => window?.webContents.send('api:event', 'jobs:progress', payload),
    finished: (payload) => window?.webContents.send('api:event', 'jobs:finished', payload),
    trainingEpoch: (payload) => window?.webContents.send('api:event', 'training:epoch', payload),
  });

  window = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'Specimen Sorter',
    show: false,
    webPreferences: secureWebPreferences(path.join(here, '../preload/index.cjs')),
  });
  window.webContents.on('will-navigate', (event) => event.preventDefault());
  window.webContents.on('will-attach-webview', (event) => event.preventDefault());
  window.webContents.setWindowOpenHandler(({ url }) => {
    if (isSafeExternalUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  window.once('ready-to-show', () => window?.show());
  window.on('closed', () => {
    window = null;
  });
  await window.loadFile(rendererIndex);

  app.on('window-all-closed', () => {
    void project.close().finally(() => app.quit());
  });
}

start().catch((error: Error) => {
  dialog.showErrorBox('Specimen Sorter could not start', error.message);
  app.exit(1);
});
