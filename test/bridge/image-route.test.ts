// The viewer's photo route: /images/<id> serves a screen-sized JPEG, with the same token and host checks as
// thumbnails; Electron's specimen://images/<id> accepts numeric ids only.
import http from 'node:http';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageRequestId, thumbnailRequestId } from '../../src-main/app/security';
import { type Bridge, startBridge } from '../../src-main/bridge/server';
import { importFolder } from '../../src-main/services/import-service';
import { Project } from '../../src-main/services/project';
import { temporaryFolder } from '../helpers/fixtures';

const temporary = temporaryFolder();
let project: Project;
let bridge: Bridge;
let imageId: number;

beforeAll(async () => {
  const renderer = path.join(temporary.folder, 'renderer');
  const photos = path.join(temporary.folder, 'photos');
  mkdirSync(renderer);
  mkdirSync(photos);
  await sharp({ create: { width: 3000, height: 4000, channels: 3, background: '#808040' } }).jpeg().toFile(path.join(photos, 'tall.jpg'));
  project = Project.open(path.join(temporary.folder, 'project'), null);
  await importFolder(project.store, photos, { labelsFromFolders: false, thumbnailPath: (sha256) => project.thumbnailPath(sha256) });
  imageId = project.store.imageIds({})[0]!;
  bridge = await startBridge({ project, rendererFolder: renderer });
});

afterAll(async () => {
  await bridge.close();
  await project.close();
  temporary.cleanup();
});

function get(requestPath: string, host = `127.0.0.1:${bridge.port}`) {
  return new Promise<{ status: number; body: Buffer; type: string | undefined }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: bridge.port, path: requestPath, headers: { host } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: Buffer.concat(chunks), type: response.headers['content-type'] }));
      })
      .on('error', reject);
  });
}

describe('the viewer photo route', () => {
  it('serves the photo downscaled to at most 2048 pixels on its long side', async () => {
    const response = await get(`/images/${imageId}?token=${bridge.token}`);
    expect(response.status).toBe(200);
    expect(response.type).toBe('image/jpeg');
    const metadata = await sharp(response.body).metadata();
    expect([metadata.width, metadata.height]).toEqual([1536, 2048]);
  });

  it('refuses a missing token, a wrong host and ids that are not a readable photo', async () => {
    expect((await get(`/images/${imageId}`)).status).toBe(401);
    expect((await get(`/images/${imageId}?token=${'0'.repeat(64)}`)).status).toBe(401);
    expect((await get(`/images/${imageId}?token=${bridge.token}`, 'evil.example')).status).toBe(403);
    expect((await get(`/images/424242?token=${bridge.token}`)).status).toBe(404);
    expect((await get(`/images/..%2f..%2fproject.sqlite?token=${bridge.token}`)).status).toBe(404);
  });

  it('accepts only numeric ids in Electron too', () => {
    expect(imageRequestId('specimen://images/42')).toBe(42);
    expect(imageRequestId('specimen://images/../thumbnails/1')).toBeNull();
    expect(imageRequestId('specimen://images/42/../1')).toBeNull();
    expect(imageRequestId('specimen://thumbnails/42')).toBeNull();
    expect(thumbnailRequestId('specimen://images/42')).toBeNull();
  });
});
