import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bridge, startBridge } from '../../src-main/bridge/server';
import { Project } from '../../src-main/services/project';
import { temporaryFolder } from '../helpers/fixtures';

const temporary = temporaryFolder('specimen-bridge-');
let project: Project;
let bridge: Bridge;

/** One raw HTTP request, the path sent exactly as written. */
function request(target: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: '127.0.0.1', port: bridge.port, path: target, method: 'GET', headers, setHost: false, agent: false });
    outgoing.on('response', (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

/** Bytes that are not HTTP; resolves to what the server wrote back before closing. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(bridge.port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', () => {});
    socket.on('close', () => resolve(received));
    socket.end(bytes);
  });
}

beforeAll(async () => {
  const renderer = path.join(temporary.folder, 'renderer');
  mkdirSync(renderer);
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Specimen Sorter</title>');
  project = Project.open(path.join(temporary.folder, 'project'));
  bridge = await startBridge({ project, rendererFolder: renderer });
});

afterAll(async () => {
  await bridge.close();
  await project.close();
  temporary.cleanup();
});

describe('the bridge refuses malformed requests with a 4xx and a reason', () => {
  const host = () => ({ host: `127.0.0.1:${bridge.port}` });

  it('answers a path that is not valid percent-encoding with 400, not a server error', async () => {
    for (const target of ['/%E0%A4%A', '/%', '/..%c0%af..%c0%afetc%c0%afpasswd']) {
      expect(await request(target, host())).toEqual({ status: 400, body: 'Bad request: the path is not valid percent-encoding.' });
    }
    expect((await request('/index.html', host())).status).toBe(200);
  });

  it('treats a missing Host header like a wrong one', async () => {
    expect(await request('/index.html', {})).toEqual({ status: 403, body: JSON.stringify({ ok: false, error: 'Wrong host' }) });
  });

  it('explains requests that are not HTTP at all', async () => {
    const reply = await raw('GARBAGE\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(reply).toMatch(/\r\n\r\nBad Request: .+$/);
    expect((await request('/index.html', host())).status).toBe(200);
  });
});
