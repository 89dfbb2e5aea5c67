/**
 * Bad requests: fuzzes the local bridge (out/node/bridge.js) over every channel of the contract with wrong
 * types, missing and extra fields, values out of range, huge strings, invalid JSON, unknown channels, a
 * missing or wrong token, a wrong Host header and path traversal on static files, thumbnails and uploads.
 * A bad request is reported correctly when it gets a 4xx with a message, leaks no file, and the bridge then
 * still answers a good request.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { z } from 'zod';
import { requestSchemas } from '../../src-main/contract/schemas';
import { BRIDGE, REPOSITORY, runCli } from './processes';
import { integrity } from './project-database';
import { Tally } from './tally';

interface Reply {
  status: number;
  statusMessage: string;
  body: string;
}

interface BadRequest {
  label: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  /** Omit the Host header entirely. */
  noHost?: boolean;
  body?: string | Buffer;
}

interface Bridge {
  child: ChildProcess;
  port: number;
  token: string;
  output: () => string;
}

/** Starts the bridge on a free port and reads its URL and token from stdout. */
async function startBridge(projectFolder: string): Promise<Bridge> {
  const child = spawn(process.execPath, [BRIDGE, '--project', projectFolder], { cwd: REPOSITORY, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The bridge did not start: ${output}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Listening on http:\/\/127\.0\.0\.1:(\d+)\/\?token=([0-9a-f]+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({ child, port: Number(match[1]), token: match[2]!, output: () => output });
    });
    child.on('exit', (code) => reject(new Error(`The bridge exited (${code}): ${output}`)));
  });
}

/** Sends one raw request (the path exactly as given, no normalising) and reads the whole reply. */
function send(port: number, request: BadRequest): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(request.noHost ? {} : { host: `127.0.0.1:${port}` }), ...request.headers };
    const outgoing = http.request({ host: '127.0.0.1', port, method: request.method, path: request.path, headers, setHost: false, agent: false });
    let settled = false;
    outgoing.setTimeout(15_000, () => outgoing.destroy(new Error('timed out')));
    outgoing.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        settled = true;
        resolve({ status: response.statusCode ?? 0, statusMessage: response.statusMessage ?? '', body: Buffer.concat(chunks).toString('utf8') });
      });
      response.on('error', (error) => !settled && reject(error));
    });
    // The server may answer (413) and close before a large body is fully sent; the reply still counts.
    outgoing.on('error', (error) => !settled && setTimeout(() => !settled && reject(error), 200));
    outgoing.end(request.body);
  });
}

/** Sends raw bytes that are not HTTP at all; returns the status and body of whatever comes back. */
function sendRaw(port: number, bytes: string): Promise<Reply> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('error', () => {});
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d+) ([^\r]*)\r\n[\s\S]*?\r\n\r\n([\s\S]*)$/.exec(received);
      resolve(match ? { status: Number(match[1]), statusMessage: match[2]!, body: match[3]! } : { status: 0, statusMessage: '', body: received });
    });
    socket.end(bytes);
  });
}

/** The message a reply carries: the JSON `error`, else the text body. */
function messageOf(reply: Reply): string {
  try {
    const parsed = JSON.parse(reply.body) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // Not JSON: the text body is the message.
  }
  return reply.body.trim();
}

type AnySchema = z.ZodType & { _zod: { def: { type: string; values?: unknown[]; innerType?: AnySchema } } };

/** Candidate valid values for a schema, best first; the first that the schema accepts is used. */
function validCandidates(schema: AnySchema): unknown[] {
  const loose = schema as unknown as Record<string, unknown>;
  switch (schema._zod.def.type) {
    case 'number': {
      const minimum = typeof loose.minValue === 'number' && Number.isFinite(loose.minValue) ? loose.minValue : 0;
      return [minimum, minimum + 1, 1, 0.5, 0];
    }
    case 'string':
      return ['a'.repeat(Math.max(1, Number(loose.minLength ?? 1)))];
    case 'boolean':
      return [false];
    case 'enum':
      return [(loose.options as unknown[])[0]];
    case 'literal':
      return [schema._zod.def.values?.[0]];
    case 'nullable':
    case 'optional':
    case 'default':
      return validCandidates(schema._zod.def.innerType!);
    case 'array': {
      const element = validCandidates((loose.element as AnySchema) ?? schema).find((value) => (loose.element as AnySchema).safeParse(value).success);
      return [[], [element], [element, element], [element, element, element]];
    }
    case 'object': {
      const value = requiredFields(loose.shape as Record<string, AnySchema>);
      return value ? [value] : [];
    }
    default:
      return [];
  }
}

/** An object with a valid value for every required field of `shape`, or null when one cannot be made. */
function requiredFields(shape: Record<string, AnySchema>): Record<string, unknown> | null {
  const value: Record<string, unknown> = {};
  for (const [field, fieldSchema] of Object.entries(shape)) {
    if (fieldSchema.safeParse(undefined).success) continue;
    const sample = validValue(fieldSchema);
    if (!sample.ok) return null;
    value[field] = sample.value;
  }
  return value;
}

function validValue(schema: AnySchema): { ok: true; value: unknown } | { ok: false } {
  const value = validCandidates(schema).find((candidate) => schema.safeParse(candidate).success);
  return value === undefined ? { ok: false } : { ok: true, value };
}

/** Values of the wrong type, out of range or huge for a field; only those the schema refuses are kept. */
function invalidCandidates(schema: AnySchema): unknown[] {
  let inner = schema;
  while (['optional', 'nullable', 'default'].includes(inner._zod.def.type)) inner = inner._zod.def.innerType!;
  const innerLoose = inner as unknown as Record<string, unknown>;
  const values: unknown[] = [null, 'text', '42', 12345, true, {}, [], { $gt: '' }, ['a'], -1, 1.5, 1e308, -1e308, '', 'x'.repeat(200_000)];
  if (inner._zod.def.type === 'number') {
    if (typeof innerLoose.maxValue === 'number' && Number.isFinite(innerLoose.maxValue)) values.push(innerLoose.maxValue + 1);
    if (typeof innerLoose.minValue === 'number' && Number.isFinite(innerLoose.minValue)) values.push(innerLoose.minValue - 1);
  }
  if (inner._zod.def.type === 'string' && typeof innerLoose.maxLength === 'number') values.push('x'.repeat(innerLoose.maxLength + 1));
  if (inner._zod.def.type === 'enum') values.push('bogus', String((innerLoose.options as unknown[])[0]).toUpperCase());
  if (inner._zod.def.type === 'array') {
    values.push([null], [-1], [1.5]);
    const element = validValue(innerLoose.element as AnySchema);
    const maximum = (inner._zod as unknown as { bag?: { maximum?: number } }).bag?.maximum;
    if (element.ok && typeof maximum === 'number' && maximum <= 20_000) values.push(Array.from({ length: maximum + 1 }, () => element.value));
    // One level into arrays of objects: a valid element with one field made wrong.
    const elementShape = (innerLoose.element as { shape?: Record<string, AnySchema> }).shape;
    if (element.ok && elementShape) {
      for (const [field, fieldSchema] of Object.entries(elementShape)) {
        for (const wrong of invalidCandidates(fieldSchema)) values.push([{ ...(element.value as object), [field]: wrong }]);
      }
      values.push([{ ...(element.value as object), unexpected: 1 }]);
    }
  }
  const seen = new Set<string>();
  return values.filter((value) => {
    const key = JSON.stringify(value);
    if (seen.has(key) || schema.safeParse(value).success) return false;
    seen.add(key);
    return true;
  });
}

function short(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 30)}... (${text.length} chars)` : text;
}

/** Every bad request over the contract, from its zod schemas, so a new channel is fuzzed without edits here. */
function contractRequests(token: string, tally: Tally): BadRequest[] {
  const requests: BadRequest[] = [];
  const post = (channel: string, label: string, body: string | Buffer): BadRequest => ({
    label: `${channel}: ${label}`,
    method: 'POST',
    path: `/api/${channel}`,
    headers: { 'x-specimen-token': token, 'content-type': 'application/json' },
    body,
  });
  for (const [channel, channelSchema] of Object.entries(requestSchemas)) {
    const schema = channelSchema as unknown as AnySchema;
    const shape = (schema as unknown as { shape?: Record<string, AnySchema> }).shape;
    for (const text of ['{', '{"a":', 'nul', '{"offset": 1,}', "{'single': 'quotes'}", '\u0000', '[1, 2']) requests.push(post(channel, `invalid JSON ${short(text)}`, text));
    requests.push(post(channel, 'bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x7b, 0x80, 0x7d])));
    requests.push(post(channel, 'JSON nested 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`));
    for (const value of [[], 'text', 42, null, true]) requests.push(post(channel, `body ${short(value)} instead of an object`, JSON.stringify(value)));
    requests.push(post(channel, 'body over 1 MiB', JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) })));
    if (!shape) {
      tally.note(`${channel}: schema is not an object; only whole-body cases were sent`);
      continue;
    }
    const baseline = requiredFields(shape);
    if (!baseline || !schema.safeParse(baseline).success) {
      tally.note(`${channel}: no valid request could be built from its schema; per-field cases were skipped`);
      continue;
    }
    requests.push(post(channel, 'an extra field', JSON.stringify({ ...baseline, unexpected: 1 })));
    requests.push(post(channel, 'a __proto__ field', `{${Object.entries(baseline).map(([key, value]) => `${JSON.stringify(key)}: ${JSON.stringify(value)}, `).join('')}"__proto__": {"polluted": true}}`));
    requests.push(post(channel, 'a constructor field', JSON.stringify({ ...baseline, constructor: { prototype: { polluted: true } } })));
    for (const [field, fieldSchema] of Object.entries(shape)) {
      if (field in baseline) {
        const { [field]: _removed, ...rest } = baseline;
        requests.push(post(channel, `missing ${field}`, JSON.stringify(rest)));
      }
      for (const value of invalidCandidates(fieldSchema)) {
        const body = { ...baseline, [field]: value };
        if (schema.safeParse(body).success) continue;
        requests.push(post(channel, `${field} = ${short(value)}`, JSON.stringify(body)));
      }
    }
  }
  return requests;
}

/** Requests at the HTTP level: channels, methods, tokens, Host headers, traversal. */
function httpRequests(port: number, token: string): BadRequest[] {
  const json = { 'content-type': 'application/json' };
  const withToken = { 'x-specimen-token': token, ...json };
  const requests: BadRequest[] = [];
  for (const channel of ['nope', 'project:infox', 'PROJECT:INFO', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '', 'project%3Ainfo', '..%2fproject:info', 'project:info/extra']) {
    requests.push({ label: `unknown channel "${channel}"`, method: 'POST', path: `/api/${channel}`, headers: withToken, body: '{}' });
  }
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    requests.push({ label: `${method} on a channel`, method, path: '/api/project:info', headers: withToken, body: method === 'GET' ? undefined : '{}' });
  }
  requests.push({ label: 'DELETE on events', method: 'DELETE', path: '/api/events', headers: withToken });
  const wrongToken = token.replace(/^./, (first) => (first === 'a' ? 'b' : 'a'));
  const tokenCases: [string, Record<string, string>, string][] = [
    ['no token', json, ''],
    ['wrong token of the right length', { 'x-specimen-token': wrongToken, ...json }, ''],
    ['token too short', { 'x-specimen-token': token.slice(1), ...json }, ''],
    ['empty token', { 'x-specimen-token': '', ...json }, ''],
    ['token in another header', { authorization: `Bearer ${token}`, ...json }, ''],
    ['wrong token in the query', json, `?token=${wrongToken}`],
    ['token with non-ASCII letters', { 'x-specimen-token': `${token.slice(0, -2)}é`, ...json }, ''],
  ];
  for (const [label, headers, query] of tokenCases) {
    requests.push({ label: `project:info with ${label}`, method: 'POST', path: `/api/project:info${query}`, headers, body: '{}' });
    requests.push({ label: `import:start with ${label}`, method: 'POST', path: `/api/import:start${query}`, headers, body: JSON.stringify({ folder: '/', labelsFromFolders: false }) });
  }
  requests.push({ label: 'events without a token', method: 'GET', path: '/api/events' });
  requests.push({ label: 'thumbnail without a token', method: 'GET', path: '/thumbnails/1' });
  requests.push({ label: 'thumbnail with a wrong token', method: 'GET', path: `/thumbnails/1?token=${wrongToken}` });
  requests.push({ label: 'upload without a token', method: 'POST', path: '/api/upload?batch=b1&path=a.jpg', body: 'x' });
  for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${port + 1}`, 'localhost', '127.0.0.1', `[::1]:${port}`, `127.0.0.1:${port}.evil.example`, '']) {
    requests.push({ label: `Host "${host}"`, method: 'POST', path: '/api/project:info', headers: { ...withToken, host }, body: '{}' });
    requests.push({ label: `Host "${host}" for a static file`, method: 'GET', path: '/index.html', headers: { host } });
  }
  requests.push({ label: 'no Host header', method: 'POST', path: '/api/project:info', headers: withToken, body: '{}', noHost: true });
  requests.push({ label: 'a 100 kB header', method: 'POST', path: '/api/project:info', headers: { ...withToken, 'x-padding': 'a'.repeat(100_000) }, body: '{}' });
  const traversals = [
    '/..%2f..%2fetc%2fpasswd',
    '/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/%2e%2e%2f%2e%2e%2f%2e%2e%2fpackage.json',
    '/..%5c..%5c..%5cpackage.json',
    '/....//....//etc/passwd',
    '/assets/..%2f..%2f..%2fpackage.json',
    '/assets/%2e%2e/%2e%2e/%2e%2e/package.json',
    '/%2fetc%2fpasswd',
    '/index.html%00.js',
    '/%00',
    '/%E0%A4%A',
    '/%',
    '/..%c0%af..%c0%afetc%c0%afpasswd',
    '/thumbnails/../../x',
    '/thumbnails/..%2f..%2fproject.sqlite',
    '/thumbnails/%2e%2e%2f%2e%2e%2fproject.sqlite',
    '/thumbnails/1%2f..%2f..%2fproject.sqlite',
    '/thumbnails/../project.sqlite',
    '/thumbnails/-1',
    '/thumbnails/99999999999999999999999',
    '/thumbnails/1.5',
    '/thumbnails/0x1',
    '/thumbnails/',
    '/project.sqlite',
    '/../project.sqlite',
  ];
  for (const target of traversals) {
    requests.push({ label: `traversal GET ${target}`, method: 'GET', path: target });
    if (target.startsWith('/thumbnails/')) {
      requests.push({ label: `traversal GET ${target} with the token`, method: 'GET', path: `${target}${target.includes('?') ? '&' : '?'}token=${token}` });
    }
  }
  for (const [batch, file] of [
    ['../../escape', 'a.jpg'],
    ['b1', '../../../etc/evil'],
    ['b1', '..\\..\\evil'],
    ['b1', ''],
    ['b1', 'a\u0000.jpg'],
    ['', 'a.jpg'],
    ['x'.repeat(65), 'a.jpg'],
    ['b/1', 'a.jpg'],
  ] as const) {
    requests.push({
      label: `upload batch ${short(batch)} path ${short(file)}`,
      method: 'POST',
      path: `/api/upload?batch=${encodeURIComponent(batch)}&path=${encodeURIComponent(file)}`,
      headers: { 'x-specimen-token': token },
      body: 'not really a photo',
    });
  }
  return requests;
}

/** Text that must never come back: system files, the project database, the repository's own files. */
const LEAKS = [/root:.*:0:0:/, /SQLite format 3/, /"name":\s*"specimen-sorter"/];

/** Waits for `jobs:finished` of a job on the event stream, or null after `timeoutMs`. */
function finishedEvent(events: string[], jobId: string, timeoutMs: number): Promise<{ status: string; message: string } | null> {
  const started = Date.now();
  return new Promise((resolve) => {
    const poll = () => {
      for (const frame of events) {
        const match = /^event: jobs:finished\ndata: (.*)$/m.exec(frame);
        if (!match) continue;
        const payload = JSON.parse(match[1]!) as { jobId: string; status: string; message: string };
        if (payload.jobId === jobId) return resolve(payload);
      }
      if (Date.now() - started > timeoutMs) return resolve(null);
      setTimeout(poll, 50);
    };
    poll();
  });
}

/** Runs the section. `photos` is a small folder of photos to give the project thumbnails. */
export async function badRequests(folder: string, photos: string): Promise<Tally> {
  const tally = new Tally('4. bad requests (bridge fuzz)');
  const projectFolder = path.join(folder, 'bridge-project');
  const imported = await runCli(['import', photos, '--project', projectFolder, '--json']);
  if (imported.code !== 0) throw new Error(`Could not prepare the bridge project: ${imported.stderr}`);
  const bridge = await startBridge(projectFolder);
  const good: BadRequest = { label: 'good', method: 'POST', path: '/api/project:info', headers: { 'x-specimen-token': bridge.token }, body: '{}' };
  const stillAnswers = async () => {
    if (bridge.child.exitCode !== null || bridge.child.signalCode !== null) return false;
    const reply = await send(bridge.port, good).catch(() => null);
    return reply?.status === 200 && (JSON.parse(reply.body) as { ok: boolean }).ok === true;
  };
  try {
    if (!(await stillAnswers())) throw new Error('The bridge does not answer a good request to begin with');
    const requests = [...contractRequests(bridge.token, tally), ...httpRequests(bridge.port, bridge.token)];
    for (const request of requests) {
      const reply = await send(bridge.port, request).catch((error: Error) => ({ status: 0, statusMessage: '', body: `no reply: ${error.message}` }));
      const message = messageOf(reply);
      const leaked = LEAKS.some((pattern) => pattern.test(reply.body));
      const alive = await stillAnswers();
      const correct = reply.status >= 400 && reply.status < 500 && message.length > 0 && !leaked && alive;
      tally.input(request.label, correct, `status ${reply.status}, message ${JSON.stringify(message.slice(0, 120))}${leaked ? ', LEAKED a file' : ''}${alive ? '' : ', bridge stopped answering'}`);
      if (!alive) break;
    }
    for (const [label, bytes] of [
      ['garbage instead of HTTP', 'GARBAGE\r\n\r\n'],
      ['a request line with a bad version', 'GET / HTTP/9.9\r\nHost: x\r\n\r\n'],
      ['a header without a colon', `POST /api/project:info HTTP/1.1\r\nHost: 127.0.0.1:${bridge.port}\r\nbroken header\r\n\r\n`],
      ['a bad content-length', `POST /api/project:info HTTP/1.1\r\nHost: 127.0.0.1:${bridge.port}\r\ncontent-length: -5\r\n\r\n`],
    ] as const) {
      const reply = await sendRaw(bridge.port, bytes);
      const alive = await stillAnswers();
      tally.input(`raw bytes: ${label}`, reply.status >= 400 && reply.status < 500 && reply.body.trim().length > 0 && alive, `status ${reply.status}, body ${JSON.stringify(reply.body.slice(0, 120))}`);
    }
    // Requests that are well-formed but ask for the impossible: accepted as jobs, which then fail with a reason.
    const events: string[] = [];
    const stream = http.get({ host: '127.0.0.1', port: bridge.port, path: '/api/events', headers: { host: `127.0.0.1:${bridge.port}`, 'x-specimen-token': bridge.token } });
    stream.on('response', (response) => {
      let buffer = '';
      response.on('data', (chunk: Buffer) => {
        buffer += chunk.toString('utf8');
        const frames = buffer.split('\n\n');
        buffer = frames.pop() ?? '';
        events.push(...frames);
      });
    });
    stream.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const [label, folderValue, expected] of [
      ['a folder that does not exist', path.join(folder, 'no such folder'), /^Folder not found/],
      ['a file instead of a folder', path.join(REPOSITORY, 'package.json'), /^Not a folder/],
      ['a folder name with a NUL byte', 'photos\u0000/etc', /^Folder not found/],
    ] as const) {
      const reply = await send(bridge.port, { ...good, path: '/api/import:start', body: JSON.stringify({ folder: folderValue, labelsFromFolders: false }) });
      const jobId = reply.status === 200 ? (JSON.parse(reply.body) as { value: { jobId: string } }).value.jobId : null;
      const finished = jobId ? await finishedEvent(events, jobId, 10_000) : null;
      tally.input(
        `import:start with ${label} (reported through jobs:finished)`,
        finished?.status === 'failed' && expected.test(finished.message) && (await stillAnswers()),
        `reply ${reply.status}, job ${JSON.stringify(finished)}`,
      );
    }
    stream.destroy();
  } finally {
    bridge.child.kill('SIGTERM');
    await new Promise((resolve) => (bridge.child.exitCode !== null ? resolve(null) : bridge.child.once('exit', resolve)));
  }
  const check = integrity(projectFolder);
  tally.data('bridge project integrity_check after the fuzz', check === 'ok', check);
  return tally;
}
