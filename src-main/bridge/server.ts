/**
 * The local bridge: serves the contract over HTTP (requests) and server-sent events (job events) on
 * 127.0.0.1 with a per-run random token, plus the built renderer and thumbnails. It lets the real UI run
 * in a browser, for end-to-end tests and for machines where Electron cannot run. Same handlers as IPC.
 * Photos: `/thumbnails/<id>` and `/images/<id>` (the viewer's screen-sized copy), with the same token and host checks.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Envelope } from '../contract/api';
import { isChannel, parseRequest } from '../contract/schemas';
import { type ApiHandlers, createApiHandlers } from '../services/api-handlers';
import { imagePreviewFile } from '../services/image-preview';
import type { Project } from '../services/project';

/** Bridge settings. */
export interface BridgeOptions {
  project: Project;
  /** Folder of the built renderer (index.html and assets). */
  rendererFolder: string;
  /** 0 picks a free port. */
  port?: number;
  /** Defaults to 32 random bytes, hex. */
  token?: string;
}

/** A running bridge. */
export interface Bridge {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Same policy as the Electron window: scripts only from the app, images from the app and its thumbnails. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

function send(response: http.ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body);
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  response.end(text);
}

async function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) throw Object.assign(new Error('Request too large'), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A relative upload path made safe: no absolute paths, no `..`, no empty or hidden segments. */
export function safeRelativePath(relative: string): string | null {
  const segments = relative.split(/[\\/]+/).filter((segment) => segment !== '' && segment !== '.');
  if (segments.length === 0 || segments.some((segment) => segment === '..' || segment.includes('\0'))) return null;
  return segments.join(path.sep);
}

/** Starts the bridge on 127.0.0.1. */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const { project, rendererFolder } = options;
  const token = options.token ?? randomBytes(32).toString('hex');
  const handlers: ApiHandlers = createApiHandlers(project);
  const eventStreams = new Set<http.ServerResponse>();
  const unsubscribe = project.jobs.subscribe({
    progress: (event) => broadcast('jobs:progress', event),
    finished: (event) => broadcast('jobs:finished', event),
    trainingEpoch: (event) => broadcast('training:epoch', event),
  });
  function broadcast(name: string, payload: unknown): void {
    const frame = `event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`;
    for (const stream of eventStreams) stream.write(frame);
  }
  let port = 0;

  // A missing Host header reaches the handler, which refuses it like a wrong one, with a reason.
  const server = http.createServer({ requireHostHeader: false }, async (request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const host = request.headers.host ?? '';
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return send(response, 403, { ok: false, error: 'Wrong host' });
      const given = (request.headers['x-specimen-token'] as string | undefined) ?? url.searchParams.get('token');
      const authorised = tokenMatches(token, given);

      if (url.pathname.startsWith('/api/')) {
        if (!authorised) return send(response, 401, { ok: false, error: 'Missing or wrong token: open the URL the bridge printed.' });
        const name = url.pathname.slice('/api/'.length);
        if (name === 'events' && request.method === 'GET') {
          response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
          response.write(': connected\n\n');
          eventStreams.add(response);
          request.on('close', () => eventStreams.delete(response));
          return;
        }
        if (name === 'upload' && request.method === 'POST') return await handleUpload(url, request, response);
        if (request.method !== 'POST') return send(response, 405, { ok: false, error: 'Use POST' });
        if (!isChannel(name)) return send(response, 404, { ok: false, error: `Unknown channel ${name}` });
        let envelope: Envelope<unknown>;
        try {
          const raw = (await readBody(request, MAX_REQUEST_BYTES)).toString('utf8');
          let body: unknown;
          try {
            body = raw === '' ? {} : JSON.parse(raw);
          } catch {
            throw new Error('The request body is not valid JSON.');
          }
          const validated = parseRequest(name, body);
          const handler = handlers[name] as (request: unknown) => Promise<unknown>;
          envelope = { ok: true, value: await handler(validated) };
        } catch (error) {
          envelope = { ok: false, error: (error as Error).message };
        }
        return send(response, envelope.ok ? 200 : 400, envelope);
      }

      const thumbnail = /^\/thumbnails\/(\d+)$/.exec(url.pathname);
      if (thumbnail) {
        if (!authorised) return send(response, 401, 'Unauthorised', 'text/plain');
        const image = project.store.image(Number(thumbnail[1]));
        if (!image?.sha256 || image.status !== 'ok') return send(response, 404, 'No thumbnail', 'text/plain');
        response.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'private, max-age=3600' });
        createReadStream(project.thumbnailPath(image.sha256))
          .on('error', () => response.destroy())
          .pipe(response);
        return;
      }

      // The viewer's full-size photo: a cached JPEG at most PREVIEW_SIZE pixels on the long side, never the raw original.
      const original = /^\/images\/(\d{1,12})$/.exec(url.pathname);
      if (original) {
        if (!authorised) return send(response, 401, 'Unauthorised', 'text/plain');
        let file: string | null;
        try {
          file = await imagePreviewFile(project, Number(original[1]));
        } catch (error) {
          return send(response, 404, (error as Error).message, 'text/plain');
        }
        if (!file) return send(response, 404, 'No such photo', 'text/plain');
        response.writeHead(200, { 'content-type': 'image/jpeg', 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' });
        createReadStream(file)
          .on('error', () => response.destroy())
          .pipe(response);
        return;
      }

      if (request.method !== 'GET') return send(response, 405, 'Method not allowed', 'text/plain');
      let decoded: string;
      try {
        decoded = decodeURIComponent(url.pathname);
      } catch {
        return send(response, 400, 'Bad request: the path is not valid percent-encoding.', 'text/plain');
      }
      const relative = url.pathname === '/' ? 'index.html' : safeRelativePath(decoded);
      if (!relative) return send(response, 404, 'Not found', 'text/plain');
      const file = path.join(rendererFolder, relative);
      let body: Buffer;
      try {
        body = await fs.readFile(file);
      } catch {
        return send(response, 404, 'Not found', 'text/plain');
      }
      response.writeHead(200, {
        'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-security-policy': CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'cache-control': 'no-store',
      });
      response.end(body);
    } catch (error) {
      if (!response.headersSent) send(response, (error as { status?: number }).status ?? 500, { ok: false, error: (error as Error).message });
      else response.destroy();
    }
  });

  // Dropped files arrive one request each and are written under the project's uploads/<batch>/ folder.
  async function handleUpload(url: URL, request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const batch = url.searchParams.get('batch') ?? '';
    const relative = safeRelativePath(url.searchParams.get('path') ?? '');
    if (!/^[a-zA-Z0-9-]{1,64}$/.test(batch) || !relative) return send(response, 400, { ok: false, error: 'Bad upload batch or path' });
    const folder = path.join(project.folder, 'uploads', batch);
    const target = path.join(folder, relative);
    const body = await readBody(request, MAX_UPLOAD_BYTES);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.writeFile(target, body);
    send(response, 200, { ok: true, value: { folder } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Requests Node refuses before any handler (headers too large, malformed HTTP) get a reason in the
    // body too, not an empty 400.
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const [status, text] =
        error.code === 'HPE_HEADER_OVERFLOW' ? [431, 'Request Header Fields Too Large'] : [400, 'Bad Request'];
      const body = `${text}: ${error.message}`;
      socket.end(`HTTP/1.1 ${status} ${text}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const heartbeat = setInterval(() => {
    for (const stream of eventStreams) stream.write(': ping\n\n');
  }, 15_000);
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    async close() {
      clearInterval(heartbeat);
      unsubscribe();
      for (const stream of eventStreams) stream.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
