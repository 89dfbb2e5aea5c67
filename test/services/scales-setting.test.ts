import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseRequest } from '../../src-main/contract/schemas';
import { createApiHandlers } from '../../src-main/services/api-handlers';
import { Project } from '../../src-main/services/project';
import { temporaryFolder } from '../helpers/fixtures';

const temporary = temporaryFolder();
const project = Project.open(path.join(temporary.folder, 'project'));
afterAll(async () => {
  await project.close();
  temporary.cleanup();
});

it('remembers the input sizes a clustering run asks for, and reports them in project:info', async () => {
  const api = createApiHandlers(project);
  expect((await api['project:info']({})).scales).toBeNull();
  // The project has no photos, so the job fails; the setting is saved before it starts, as the TTA switch is.
  const { jobId } = await api['clusters:run']({ method: 'kmeans', k: 2, scales: [320, 224, 288] });
  await project.jobs.wait(jobId);
  expect((await api['project:info']({})).scales).toEqual([224, 288, 320]);
  const again = await api['clusters:run']({ method: 'kmeans', k: 2, scales: null });
  await project.jobs.wait(again.jobId);
  expect((await api['project:info']({})).scales).toBeNull();
  expect(() => parseRequest('clusters:run', { method: 'kmeans', k: 2, scales: [16] })).toThrow(/scales/);
});
