// What the end-to-end tests share: the paths, a bridge started on a fresh project, Debian Chromium, and a
// small folder of real moth photos linked (not copied) from ../shared.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

/** Starts out/node/bridge.js on a project; resolves to { child, url } once it listens. */
export function startBridge(projectFolder, { model, env } = {}) {
  const args = [path.join(root, 'out', 'node', 'bridge.js'), '--project', projectFolder, ...(model ? ['--model', model] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /Listening on (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(output);
      if (match) resolve({ child, url: match[1], output: () => output });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`bridge exited with ${code}: ${output}`)));
  });
}

/** Debian Chromium, headless, with nothing reaching out to the network. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Opens the app in a new page, failing the test on any page error. */
export async function openApp(browser, url, viewport = { width: 1400, height: 950 }) {
  const context = await browser.newContext({ acceptDownloads: true, viewport });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error));
  await page.goto(url);
  return { page, errors };
}
