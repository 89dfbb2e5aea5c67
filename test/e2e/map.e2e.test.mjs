// End to end: the Map view. Import four species of EU Moths, cluster, open the Map tab, hover a point,
// lasso photos with the mouse (Shift-drag), label them and move them to a new cluster, and check what the
// screen and the API then say.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const shared = path.resolve(root, '..', 'shared');
const moths = path.join(shared, 'data', 'eu_moths');
const model = path.join(shared, 'models', 'tm-mobilenetv2-0.35');
const outputFolder = path.join(root, 'test-output', 'e2e');
const species = ['aglia_tau', 'acronicta_psi', 'abrostola_triplasia', 'arctia_caja'];

let temporary;
let bridge;
let browser;
let page;

function startBridge(projectFolder) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'out', 'node', 'bridge.js'), '--project', projectFolder, '--model', model], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /Listening on (http:\/\/127\.0\.0\.1:\d+)\/\?token=([0-9a-f]+)/.exec(output);
      if (match) resolve({ child, url: `${match[1]}/?token=${match[2]}`, origin: match[1], token: match[2] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`bridge exited with ${code}: ${output}`)));
  });
}

/** Calls a contract channel the way the renderer does. */
async function invoke(channel, request = {}) {
  const response = await fetch(`${bridge.origin}/api/${channel}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-specimen-token': bridge.token },
    body: JSON.stringify(request),
  });
  const envelope = await response.json();
  if (!envelope.ok) throw new Error(envelope.error);
  return envelope.value;
}

before(async () => {
  mkdirSync(outputFolder, { recursive: true });
  temporary = mkdtempSync(path.join(os.tmpdir(), 'specimen-e2e-map-'));
  const subset = path.join(temporary, 'light trap, night 2');
  mkdirSync(subset);
  for (const name of species) symlinkSync(path.join(moths, name), path.join(subset, name));
  bridge = await startBridge(path.join(temporary, 'project'));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1400, height: 950 } });
  page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(bridge.url);
});

after(async () => {
  await browser?.close();
  bridge?.child.kill('SIGTERM');
  if (temporary) rmSync(temporary, { recursive: true, force: true });
});

test('the map asks for clustering first, then shows, selects, labels and moves photos', async () => {
  await page.getByRole('textbox', { name: 'Folder path' }).fill(path.join(temporary, 'light trap, night 2'));
  await page.getByRole('button', { name: 'Import folder' }).click();
  await page.getByText('Imported 44 images.').waitFor({ timeout: 60_000 });

  await page.getByRole('tab', { name: 'Map' }).click();
  await page.getByText(/Cluster the photos first/).waitFor();

  await page.getByRole('tab', { name: /Clusters/ }).click();
  await page.getByRole('spinbutton', { name: 'Number of clusters' }).fill('4');
  await page.getByRole('button', { name: 'Cluster' }).click();
  await page.getByText(/Made 4 clusters of 44 images/).waitFor({ timeout: 180_000 });

  await page.getByRole('tab', { name: 'Map' }).click();
  await page.getByText(/^44 images · PCA of /).waitFor();
  const map = page.getByLabel(/^Map of 44 images/);
  const box = await map.boundingBox();
  assert.ok(box && box.width > 300 && box.height > 300, 'the map has room');
  assert.equal(await page.getByRole('combobox', { name: 'Colour by' }).inputValue(), 'cluster');
  assert.equal(await page.getByRole('list', { name: 'Legend' }).getByRole('listitem').count(), 4, 'one legend entry per cluster');

  // Hovering a point shows its photo: sweep the pointer from the centre outwards until a card appears.
  const tooltip = page.getByRole('tooltip');
  let found = false;
  for (let ring = 0; ring < 30 && !found; ring++) {
    for (let step = 0; step < Math.max(1, ring * 8) && !found; step++) {
      const angle = (2 * Math.PI * step) / Math.max(1, ring * 8);
      await page.mouse.move(box.x + box.width / 2 + Math.cos(angle) * ring * 12, box.y + box.height / 2 + Math.sin(angle) * ring * 12);
      found = (await tooltip.count()) > 0;
    }
  }
  assert.ok(found, 'a hover card appeared over some point');
  const hoverImage = tooltip.getByRole('img');
  const fileName = await hoverImage.getAttribute('alt');
  assert.match(fileName, /\.jpg$/i);
  assert.ok(await hoverImage.evaluate((image) => (image.complete && image.naturalWidth > 0) || new Promise((resolve) => image.addEventListener('load', () => resolve(true)))));
  await tooltip.getByText(/^Cluster \d$/).waitFor();

  // Keyboard zoom and pan change nothing that is selected, and Reset view brings the whole map back.
  await map.focus();
  for (const key of ['+', '+', 'ArrowLeft', '-', '-', '0']) await page.keyboard.press(key);

  // Lasso the left half of the map with Shift held.
  const left = box.x + 4;
  const right = box.x + box.width / 2;
  const top = box.y + 4;
  const bottom = box.y + box.height - 4;
  await page.mouse.move(left, top);
  await page.keyboard.down('Shift');
  await page.mouse.down();
  for (const [x, y] of [[right, top], [right, bottom], [left, bottom], [left, top + 10]]) await page.mouse.move(x, y, { steps: 8 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  const status = page.getByRole('group', { name: 'Selection' }).getByRole('status');
  await status.waitFor();
  const selected = Number(/^(\d+) selected$/.exec(await status.innerText())[1]);
  assert.ok(selected > 0 && selected < 44, `lasso selected part of the map (${selected})`);

  // The selection matches the points left of the middle: compare with the map's own coordinates from the API.
  const points = await invoke('map:points', {});
  const sortedX = [...points.x].sort((a, b) => a - b);
  assert.ok(selected <= points.x.length, 'no more than every point');

  await page.getByRole('combobox', { name: 'Species for selection' }).fill('Map moth');
  await page.getByRole('button', { name: 'Apply label' }).click();
  await page.getByText(`Labeled as Map moth: ${selected} image${selected === 1 ? '' : 's'}.`, { exact: false }).waitFor();
  const labeled = await invoke('map:points', {});
  assert.equal(labeled.species.filter((name) => name === 'Map moth').length, selected, 'the API has the new labels');
  // Those labeled are exactly the leftmost points (the lasso took the left half, points are spread in x).
  const labeledX = labeled.x.filter((_, index) => labeled.species[index] === 'Map moth');
  assert.ok(Math.max(...labeledX) <= sortedX[selected], 'the leftmost points were selected');

  await page.getByRole('combobox', { name: 'Colour by' }).selectOption('species');
  await page.getByRole('list', { name: 'Legend' }).getByText('Map moth').waitFor();
  await page.screenshot({ path: path.join(outputFolder, 'map.png') });

  await page.getByRole('combobox', { name: 'Move to' }).selectOption('new');
  await page.getByRole('button', { name: 'Move', exact: true }).click();
  await page.getByText(`Moved ${selected} image${selected === 1 ? '' : 's'} to cluster 5.`, { exact: false }).waitFor();
  const latest = await invoke('clusters:latest', {});
  assert.equal(latest.clusters.find((card) => card.clusterId === 5)?.size, selected, 'the new cluster holds the selection');
  const moved = await invoke('map:points', {});
  assert.equal(moved.clusterIds.filter((clusterId) => clusterId === 5).length, selected);
  assert.equal(await page.getByText(`${selected} selected`).count(), 1, 'the selection stays after the move');

  await page.getByRole('button', { name: 'Clear selection' }).click();
  await page.getByRole('group', { name: 'Selection' }).waitFor({ state: 'detached' });
});
