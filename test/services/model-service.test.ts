import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandlers } from '../../src-main/services/api-handlers';
import { BUNDLED_MODEL_ID } from '../../src-main/services/model-service';
import { Project } from '../../src-main/services/project';
import { ONNX_MODEL, TFJS_MODEL, temporaryFolder } from '../helpers/fixtures';

const temporary = temporaryFolder();
let server: http.Server;
let base = '';
let project: Project;
let api: ReturnType<typeof createApiHandlers>;

beforeAll(async () => {
  process.env.SPECIMEN_SORTER_DATA = path.join(temporary.folder, 'app data');
  const bytes = readFileSync(ONNX_MODEL);
  server = http.createServer((request, response) => {
    if (request.url !== '/zoo/mobilenet.onnx') return response.writeHead(404).end();
    response.writeHead(200, { 'content-length': bytes.length }).end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  project = Project.open(path.join(temporary.folder, 'project'), TFJS_MODEL);
  api = createApiHandlers(project);
});

afterAll(async () => {
  await project.close();
  delete process.env.SPECIMEN_SORTER_DATA;
  await new Promise((resolve) => server.close(resolve));
  temporary.cleanup();
});

async function addAndWait(source: string): Promise<{ status: string; message: string }> {
  const { jobId } = await api['models:add']({ source });
  return project.jobs.wait(jobId);
}

describe('models through the API', () => {
  it('lists the bundled default as the model in use before anything is added', async () => {
    const { models, runtime } = await api['models:list']({});
    expect(models).toEqual([expect.objectContaining({ id: BUNDLED_MODEL_ID, format: 'tfjs', path: TFJS_MODEL, inUse: true })]);
    expect(runtime).toMatch(/onnxruntime|tfjs/);
  });

  it('adds a model from a file and one from a URL on 127.0.0.1, checking each loads', async () => {
    const fromUrl = await addAndWait(`${base}/zoo/mobilenet.onnx`);
    expect(fromUrl.status, fromUrl.message).toBe('done');
    expect(fromUrl.message).toMatch(/1280-d features/);
    const fromFile = await addAndWait(ONNX_MODEL);
    expect(fromFile.status, fromFile.message).toBe('done');
    const { models } = await api['models:list']({});
    // The same bytes twice are one registry entry, named after the downloaded file, its id carrying the content hash.
    expect(models).toEqual([
      expect.objectContaining({ id: BUNDLED_MODEL_ID }),
      expect.objectContaining({ id: expect.stringMatching(/^mobilenet-[0-9a-f]{12}$/), source: `${base}/zoo/mobilenet.onnx`, format: 'onnx', inUse: false }),
    ]);
  });

  it('reports a broken source as a failed job that says why', async () => {
    const missing = await addAndWait(path.join(temporary.folder, 'nothing here.onnx'));
    expect(missing.status).toBe('failed');
    expect(missing.message).toMatch(/nothing here\.onnx/);
    const notFound = await addAndWait(`${base}/zoo/missing.onnx`);
    expect(notFound.status).toBe('failed');
    expect(notFound.message).toMatch(/404/);
  });

  it('switches the project to an added model and back to the bundled one', async () => {
    const added = (await api['models:list']({})).models.find((model) => model.id !== BUNDLED_MODEL_ID)!;
    const { model } = await api['models:use']({ id: added.id });
    expect(model).toMatchObject({ id: added.id, inUse: true });
    expect((await api['project:info']({})).model?.path).toBe(added.path);
    expect((await api['models:use']({ id: BUNDLED_MODEL_ID })).model.path).toBe(TFJS_MODEL);
    await expect(api['models:use']({ id: 'no-such-model' })).rejects.toThrow(/No model "no-such-model"/);
  });
});
