/**
 * The renderer's one door to the app: `window.api` in Electron (the preload), or the same contract over
 * HTTP and server-sent events when the page is served by the local bridge. Components use only this.
 */
import type { ApiEvents, Channel, Envelope, EventName, ReplyOf, RequestOf, SpecimenApi } from '../../../src-main/contract/api';

declare global {
  interface Window {
    api?: SpecimenApi;
  }
}

function bridgeToken(): string {
  const fromUrl = new URLSearchParams(location.search).get('token');
  if (fromUrl) {
    sessionStorage.setItem('specimen-token', fromUrl);
    return fromUrl;
  }
  return sessionStorage.getItem('specimen-token') ?? '';
}

function bridgeApi(): SpecimenApi & { upload(batch: string, relativePath: string, file: Blob): Promise<string> } {
  const token = bridgeToken();
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let source: EventSource | null = null;
  const connect = () => {
    if (source) return;
    source = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
    for (const name of ['jobs:progress', 'jobs:finished', 'training:epoch'] as const) {
      source.addEventListener(name, (event) => {
        const payload = JSON.parse((event as MessageEvent<string>).data) as never;
        for (const listener of listeners.get(name) ?? []) listener(payload);
      });
    }
  };
  return {
    async invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ReplyOf<C>> {
      const response = await fetch(`/api/${channel}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-specimen-token': token },
        body: JSON.stringify(request),
      });
      const envelope = (await response.json()) as Envelope<ReplyOf<C>>;
      if (!envelope.ok) throw new Error(envelope.error);
      return envelope.value;
    },
    on<E extends EventName>(event: E, listener: (payload: ApiEvents[E]) => void) {
      connect();
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener as (payload: never) => void);
      return () => set.delete(listener as (payload: never) => void);
    },
    thumbnailUrl(imageId) {
      return `/thumbnails/${imageId}?token=${encodeURIComponent(token)}`;
    },
    imageUrl(imageId) {
      return `/images/${imageId}?token=${encodeURIComponent(token)}`;
    },
    async upload(batch, relativePath, file) {
      const query = new URLSearchParams({ token, batch, path: relativePath });
      const response = await fetch(`/api/upload?${query}`, { method: 'POST', body: file });
      const envelope = (await response.json()) as Envelope<{ folder: string }>;
      if (!envelope.ok) throw new Error(envelope.error);
      return envelope.value.folder;
    },
  };
}

const bridge = window.api ? null : bridgeApi();

/** The typed API. */
export const api: SpecimenApi = window.api ?? bridge!;

/** Sends dropped files to the bridge (browser only); returns the folder they were written to. */
export const uploadFile: ((batch: string, relativePath: string, file: Blob) => Promise<string>) | null = bridge
  ? bridge.upload
  : null;
