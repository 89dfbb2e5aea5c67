import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBackbone } from '../../src-main/core/backbones/load-backbone';
import { addModelFromPath, addModelFromUrl, listModels, resolveModelReference } from '../../src-main/services/model-registry';
import { ONNX_MODEL, TFJS_MODEL, temporaryFolder } from '../helpers/fixtures';

const temporary = temporaryFolder();
const onnxBytes = readFileSync(ONNX_MODEL);
const onnxSha = createHash('sha256').update(onnxBytes).digest('hex');
let server: http.Server;
let base = '';
let requests: string[] = [];
let cutFirstDownload = true;

beforeAll(async () => {
  process.env.SPECIMEN_SORTER_DATA = temporary.folder;
  // Serves the model on 127.0.0.1 with Range support; the first full download breaks off half way.
  server = http.createServer((request, response) => {
    requests.push(`${request.url} ${request.headers.range ?? ''}`.trim());
    if (request.url !== '/models/mobilenet.onnx') return response.writeHead(404).end();
    const range = /bytes=(\d+)-/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    response.writeHead(range ? 206 : 200, { 'content-length': onnxBytes.length - start });
    if (!range && cutFirstDownload) {
      cutFirstDownload = false;
      response.write(onnxBytes.subarray(0, 1_000_000), () => response.destroy());
      return;
    }
    response.end(onnxBytes.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  delete process.env.SPECIMEN_SORTER_DATA;
  await new Promise((resolve) => server.close(resolve));
  temporary.cleanup();
});

describe('model registry', () => {
  it('adds ONNX and TF.js models from disk, once each, and resolves them by id', async () => {
    const onnx = await addModelFromPath(ONNX_MODEL);
    expect(onnx).toMatchObject({ format: 'onnx', sha256: onnxSha, id: `mobilenetv2-12-int8-${onnxSha.slice(0, 12)}` });
    const tfjs = await addModelFromPath(TFJS_MODEL, { name: 'Teachable Machine MobileNetV2 0.35' });
    expect(tfjs.format).toBe('tfjs');
    expect((await addModelFromPath(ONNX_MODEL)).addedAt).toBe(onnx.addedAt);
    expect((await listModels()).map((model) => model.id).sort()).toEqual([onnx.id, tfjs.id].sort());
    const backbone = await loadBackbone(await resolveModelReference(tfjs.id));
    expect(backbone.dims).toBe(1280);
    await backbone.dispose();
    await expect(resolveModelReference('no-such-model')).rejects.toThrow(/models add/);
  });

  it('downloads from a URL, resumes a broken download, and checks the sha256', async () => {
    requests = [];
    await expect(addModelFromUrl(`${base}/models/mobilenet.onnx`, { sha256: onnxSha })).rejects.toThrow(/broke off|again/);
    const manifest = await addModelFromUrl(`${base}/models/mobilenet.onnx`, { sha256: onnxSha, name: 'MobileNetV2 from the zoo' });
    // The second request resumes from what arrived before the break (up to the 1,000,000 bytes sent).
    expect(requests).toHaveLength(2);
    const resumedFrom = Number(/bytes=(\d+)-$/.exec(requests[1]!)?.[1]);
    expect(resumedFrom).toBeGreaterThan(0);
    expect(resumedFrom).toBeLessThanOrEqual(1_000_000);
    // The same bytes were added from disk in the test above: the download resolves to that entry, not a copy.
    expect(manifest).toMatchObject({ sha256: onnxSha, id: `mobilenetv2-12-int8-${onnxSha.slice(0, 12)}`, source: ONNX_MODEL });
    expect(await listModels()).toHaveLength(2);
    const backbone = await loadBackbone(await resolveModelReference(manifest.id));
    expect(backbone.dims).toBe(1280);
    await backbone.dispose();
  });

  it('refuses a download whose checksum differs, and bad addresses, with what to do', async () => {
    await expect(addModelFromUrl(`${base}/models/mobilenet.onnx`, { sha256: '0'.repeat(64) })).rejects.toThrow(/not the expected/);
    await expect(addModelFromUrl(`${base}/models/missing.onnx`)).rejects.toThrow(/answered 404/);
    await expect(addModelFromUrl('ftp://example.org/model.onnx')).rejects.toThrow(/Only http and https/);
  });
});
