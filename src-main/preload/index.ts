/**
 * The preload: exposes `window.api`, one typed `invoke` for every contract channel and `on` for events.
 * Runs sandboxed with context isolation; only plain data crosses.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { Envelope, SpecimenApi } from '../contract/api';

const api: SpecimenApi = {
  async invoke(channel, request) {
    const envelope = (await ipcRenderer.invoke('api:invoke', channel, request)) as Envelope<never>;
    if (!envelope.ok) throw new Error(envelope.error);
    return envelope.value;
  },
  on(event, listener) {
    const wrapped = (_event: IpcRendererEvent, name: unknown, payload: unknown) => {
      if (name === event) listener(payload as Parameters<typeof listener>[0]);
    };
    ipcRenderer.on('api:event', wrapped);
    return () => ipcRenderer.removeListener('api:event', wrapped);
  },
  thumbnailUrl(imageId) {
    return `specimen://thumbnails/${Number(imageId)}`;
  },
  imageUrl(imageId) {
    return `specimen://images/${Number(imageId)}`;
  },
  pathForFile(file) {
    // Since Electron 32 a dropped File has no `path`; webUtils gives it, and '' for files with no path.
    return webUtils.getPathForFile(file) || null;
  },
};

contextBridge.exposeInMainWorld('api', api);
