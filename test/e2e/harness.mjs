// What the end-to-end tests share: the paths, a bridge started on a fresh project, Debian Chromium, a small
// folder of real moth photos linked (not copied) from ../shared, and the before / after hooks that tie them
// together for one test file (useApp).
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const shared = path.resolve(root, '..', 'shared');
export const moths = path.join(shared, 'data', 'eu_moths');
export const tfjsModel = path.join(shared, 'models', 'tm-mobilenetv2-0.35');
export const onnxModel = path.join(shared, 'models', 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx');
export const outputFolder = path.join(root, 'test-output', 'e2e');

/** A fresh temporary folder for one test file. */
export function temporaryFolder(prefix = 'specimen-e2e-') {
  mkdirSync(outputFolder, { recursive: true });
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Links the given EU Moths species folders into `folder` (created), as a light-trap night would look. */
export function linkSpecies(folder, species) {
  mkdirSync(folder, { recursive: true });
  for (const name of species) symlinkSync(path.join(moths, name), path.join(folder, name));
  return folder;
}

/** Copies (not links) the given EU Moths species folders into `folder`, for a browser to read as files on disk. */
export function copySpecies(folder, species) {
  for (const name of species) {
    mkdirSync(path.join(folder, name), { recursive: true });
    for (const file of readdirSync(path.join(moths, name))) copyFileSync(path.join(moths, name, file), path.join(folder, name, file));
  }
  return folder;
}

/** The photo file names of the given EU Moths species, in folder order. */
export function speciesFiles(species) {
  return species.flatMap((name) => readdirSync(path.join(moths, name)));
}

/**
 * Starts out/node/bridge.js on a project; resolves to { child, url, origin, token, invoke, output } once it
 * listens. `invoke(channel, request)` calls a contract channel the way the renderer does.
 */
export function startBridge(projectFolder, { model, env } = {}) {
  const args = [path.join(root, 'out', 'node', 'bridge.js'), '--project', projectFolder, ...(model ? ['--model', model] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)\/\?token=([0-9a-f]+)/.exec(output);
      if (!match) return;
      const [, origin, token] = match;
      const invoke = async (channel, request = {}) => {
        const response = await fetch(`${origin}/api/${channel}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-specimen-token': token },
          body: JSON.stringify(request),
        });
        const envelope = await response.json();
        if (!envelope.ok) throw new Error(envelope.error);
        return envelope.value;
      };
      resolve({ child, url: `${origin}/?token=${token}`, origin, token, invoke, output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`bridge exited with ${code}: ${output}`)));
  });
}

/** Creates a project (its folder, database and thumbnails folder) by starting the bridge on it once and stopping it. */
export async function createProject(projectFolder, options) {
  const bridge = await startBridge(projectFolder, options);
  const exited = new Promise((resolve) => bridge.child.once('exit', resolve));
  bridge.child.kill('SIGTERM');
  await exited;
  return projectFolder;
}

/** Debian Chromium, headless, with nothing reaching out to the network. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens the app in a new page; page errors are logged and collected in `errors` (a test may assert it is empty). */
export async function openApp(browser, url, viewport = { width: 1400, height: 950 }) {
  const context = await browser.newContext({ acceptDownloads: true, viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => {
    console.error('page error:', error);
    errors.push(error);
  });
  await page.goto(url);
  return { page, errors };
}

/**
 * For one test file: before its tests, a temporary folder, the bridge on a fresh project in it (`model`, `env`;
 * `env` may be a function of the temporary folder), Chromium and a page on the app; after them, all of it gone.
 * Returns an object that holds { temporary, bridge, browser, page, errors } once the before hook has run, and
 * startBridge(projectFolder), which starts another bridge (with the same model and env) stopped with the rest.
 * `prepare(app)` runs at the end of that same hook: the file's own setup (node 20 does not wait for one root
 * before hook to finish before it starts the next, so a file must not add a second one that needs the app).
 */
export function useApp({ prefix, model, env, viewport } = {}, prepare = () => {}) {
  const bridges = [];
  const app = {
    async startBridge(projectFolder, options = { model, env: app.env }) {
      const bridge = await startBridge(projectFolder, options);
      bridges.push(bridge);
      return bridge;
    },
  };
  before(async () => {
    app.temporary = temporaryFolder(prefix);
    app.env = typeof env === 'function' ? env(app.temporary) : env;
    app.bridge = await app.startBridge(path.join(app.temporary, 'project'));
    app.browser = await launchBrowser();
    Object.assign(app, await openApp(app.browser, app.bridge.url, viewport));
    await prepare(app);
  });
  after(async () => {
    await app.browser?.close();
    for (const bridge of bridges) bridge.child.kill('SIGTERM');
    if (app.temporary) rmSync(app.temporary, { recursive: true, force: true });
  });
  return app;
}

/** Types a folder into the Import panel, imports it and waits for "Imported N images.". */
export async function importFolder(page, folder, count, timeout = 60_000) {
  await page.getByRole('textbox', { name: 'Folder path' }).fill(folder);
  await page.getByRole('button', { name: 'Import folder' }).click();
  await page.getByText(`Imported ${count} images.`).waitFor({ timeout });
}

/** Saves a screenshot of the page as test-output/e2e/<name>. */
export function screenshot(page, name, options = {}) {
  return page.screenshot({ ...options, path: path.join(outputFolder, name) });
}

/** Polls `condition` until it holds, failing after `timeoutMs`. */
export async function waitUntil(condition, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('Timed out waiting for the screen to change');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
