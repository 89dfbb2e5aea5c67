import http from 'node:http';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bridge, safeRelativePath, startBridge } from '../../src-main/bridge/server';
import { Project } from '../../src-main/services/project';
import { temporaryFolder } from '../helpers/fixtures';

const temporary = temporaryFolder();
let project: Project;
let bridge: Bridge;

beforeAll(async () => {
  const renderer = path.join(temporary.folder, 'renderer');
  mkdirSync(renderer);
  writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(path.join(temporary.folder, 'secret.txt'), 'do not serve');
  project = Project.open(path.join(temporary.folder, 'project'), null);
  bridge = await startBridge({ project, rendererFolder: renderer });
});

afterAll(async () => {
  await bridge.close();
  await project.close();
  temporary.cleanup();
});

// Raw requests, so the Host header and unnormalised paths reach the server as an attacker would send them.
function request(method: string, requestPath: string, options: { body?: string; token?: string | null; host?: string } = {}) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    const headers: Record<string, string> = { host: options.host ?? `127.0.0.1:${bridge.port}` };
    if (options.token !== null) headers['x-specimen-token'] = options.token ?? bridge.token;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const outgoing = http.request({ host: '127.0.0.1', port: bridge.port, method, path: requestPath, headers }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, body, headers: response.headers }));
    });
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

describe('the local bridge', () => {
  it('listens on 127.0.0.1 only and prints a URL with its token', () => {
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64}$/);
  });

  it('answers API requests only with the right token and host', async () => {
    expect((await request('POST', '/api/project:info', { body: '{}' })).status).toBe(200);
    expect((await request('POST', '/api/project:info', { body: '{}', token: null })).status).toBe(401);
    expect((await request('POST', '/api/project:info', { body: '{}', token: 'f'.repeat(64) })).status).toBe(401);
    // A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding) sends its own Host.
    expect((await request('POST', '/api/project:info', { body: '{}', host: 'evil.example:80' })).status).toBe(403);
  });

  it('rejects malformed requests with a message and keeps serving', async () => {
    const cases = [
      ['/api/clusters:run', '{"method":"kmeans"}', /k/],
      ['/api/clusters:run', '{"method":"kmeans","k":"ten"}', /k/],
      ['/api/clusters:run', '{"method":"magic","k":3}', /method/],
      ['/api/import:start', '{"folder":"/x","labelsFromFolders":true,"extra":1}', /Unrecognized|extra/i],
      ['/api/project:info', 'not json', /not valid JSON/],
      ['/api/no:such', '{}', /Unknown channel/],
    ] as const;
    for (const [url, body, message] of cases) {
      const response = await request('POST', url, { body });
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(JSON.parse(response.body).error).toMatch(message);
    }
    expect((await request('POST', '/api/project:info', { body: '{}' })).status).toBe(200);
  });

  it('never serves files outside the renderer, and thumbnails only by id', async () => {
    for (const attempt of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/thumbnails/../secret.txt', '/thumbnails/1']) {
      const response = await request('GET', `${attempt}${attempt.includes('?') ? '&' : '?'}token=${bridge.token}`);
      expect(response.body).not.toContain('do not serve');
      expect(response.status).toBeGreaterThanOrEqual(400);
    }
    const page = await request('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(safeRelativePath('a/../../b')).toBeNull();
    expect(safeRelativePath('species/photo.jpg')).toBe(path.join('species', 'photo.jpg'));
  });
});
