// End to end: Playwright drives Debian Chromium through the local bridge as a user would: import a folder
// of real moth photos, cluster, rename a cluster, export the CSV and read it back, cancel a long import.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
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

async function waitUntil(condition, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('Timed out waiting for the screen to change');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function startBridge(projectFolder) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'out', 'node', 'bridge.js'), '--project', projectFolder, '--model', model], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk) => {
      output += chunk;
      const match = /Listening on (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(output);
      if (match) resolve({ child, url: match[1] });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`bridge exited with ${code}: ${output}`)));
  });
}

before(async () => {
  mkdirSync(outputFolder, { recursive: true });
  temporary = mkdtempSync(path.join(os.tmpdir(), 'specimen-e2e-'));
  // A small subset of EU Moths, linked (not copied) from ../shared.
  const subset = path.join(temporary, 'light trap, night 1');
  mkdirSync(subset);
  for (const name of species) symlinkSync(path.join(moths, name), path.join(subset, name));
  bridge = await startBridge(path.join(temporary, 'project'));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 950 } });
  page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(bridge.url);
});

after(async () => {
  await browser?.close();
  bridge?.child.kill('SIGTERM');
  if (temporary) rmSync(temporary, { recursive: true, force: true });
});

test('import a folder, cluster, rename, export and read the CSV back', async () => {
  const subset = path.join(temporary, 'light trap, night 1');
  const expectedFiles = species.flatMap((name) => readdirSync(path.join(moths, name)));

  await page.getByRole('textbox', { name: 'Folder path' }).fill(subset);
  await page.getByRole('button', { name: 'Import folder' }).click();
  await page.getByText(`Imported ${expectedFiles.length} images.`).waitFor({ timeout: 60_000 });

  await page.getByRole('tab', { name: /Gallery/ }).click();
  const firstFile = readdirSync(path.join(moths, species[0]))[0];
  const thumbnail = page.getByRole('img', { name: firstFile, exact: true });
  await thumbnail.waitFor();
  const decoded = await thumbnail.evaluate(
    (image) =>
      (image.complete && image.naturalWidth > 0) ||
      new Promise((resolve) => {
        image.addEventListener('load', () => resolve(image.naturalWidth > 0));
        image.addEventListener('error', () => resolve(false));
      }),
  );
  assert.ok(decoded, 'thumbnail decoded');
  await page.screenshot({ path: path.join(outputFolder, 'gallery.png') });

  await page.getByRole('tab', { name: /Clusters/ }).click();
  const clusterCount = page.getByRole('spinbutton', { name: 'Number of clusters' });
  assert.equal(await clusterCount.inputValue(), String(species.length), 'k defaults to the number of labeled species');
  await clusterCount.fill('4');
  await page.getByRole('button', { name: 'Cluster' }).click();
  await page.getByText(/Made 4 clusters of 44 images/).waitFor({ timeout: 120_000 });
  const names = page.getByRole('textbox', { name: 'Cluster name' });
  assert.equal(await names.count(), 4);
  await page.getByRole('row', { name: /ARI/ }).waitFor();
  await page.getByRole('button', { name: 'Suggest k' }).click();
  await page.getByRole('img', { name: /largest jump is after \d+/ }).waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: /^Use \d+$/ }).waitFor();
  // The names other checks rely on each find exactly one control, even matched loosely.
  for (const name of ['Import folder', 'Cluster', 'Export CSV', 'Train', 'Merge', 'Undo']) {
    assert.equal(await page.getByRole('button', { name }).count(), 1, `one button named like "${name}"`);
  }
  assert.equal(await page.getByRole('spinbutton', { name: 'Number of clusters' }).count(), 1);

  await names.first().fill('Night 1, "group A"');
  await names.first().press('Enter');
  await page.waitForTimeout(300);
  await page.reload();
  await page.getByRole('textbox', { name: 'Cluster name' }).first().waitFor();
  assert.equal(await page.getByRole('textbox', { name: 'Cluster name' }).first().inputValue(), 'Night 1, "group A"', 'rename is saved');
  await page.screenshot({ path: path.join(outputFolder, 'clusters.png'), fullPage: false });

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const csvPath = path.join(outputFolder, download.suggestedFilename());
  await download.saveAs(csvPath);
  const text = readFileSync(csvPath, 'utf8');
  const lines = text.trimEnd().split('\r\n');
  assert.equal(lines[0], 'image_path,file_name,content_sha256,cluster_id,cluster_name,distance_to_center,species_label,label_source,status,error');
  assert.equal(lines.length, 1 + expectedFiles.length);
  assert.ok(text.includes('"Night 1, ""group A"""'), 'renamed cluster appears, quoted per RFC 4180');
  for (const file of expectedFiles) assert.ok(text.includes(`,${file},`), `row for ${file}`);
  assert.ok(lines.slice(1).every((line) => /,[1-4],/.test(line)), 'every image has a cluster');
});

test('fine-tune on the labeled species, then merge, split and undo clusters', async () => {
  await page.getByText('Settings').click();
  await page.getByRole('spinbutton', { name: 'Epochs' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Tasks per epoch' }).fill('20');
  await page.getByRole('button', { name: 'Train' }).click();
  await page.getByText(/Fine-tuned on 4 species/).waitFor({ timeout: 120_000 });
  await page.getByRole('img', { name: /Training curves/ }).waitFor();
  await page.screenshot({ path: path.join(outputFolder, 'train.png'), fullPage: true });

  await page.getByRole('button', { name: 'Cluster' }).click();
  await page.getByText(/Made 4 clusters of 44 images/).waitFor({ timeout: 120_000 });
  const names = page.getByRole('textbox', { name: 'Cluster name' });
  assert.equal(await names.count(), 4);

  const boxes = page.getByRole('checkbox', { name: /Select cluster/ });
  await boxes.nth(0).check();
  await boxes.nth(1).check();
  await page.getByRole('button', { name: 'Merge' }).click();
  await page.getByText(/Merged 11 images into cluster/).waitFor();
  assert.equal(await names.count(), 3);
  const sizes = await page.locator('.size').allInnerTexts();
  assert.equal(sizes[0], '22', 'the merged cluster holds both');

  await page.getByRole('button', { name: 'Split' }).first().click();
  await page.getByText(/Split cluster \d+ into clusters/).waitFor();
  assert.equal(await names.count(), 4);
  await page.screenshot({ path: path.join(outputFolder, 'clusters-edited.png') });

  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByText(/Undid: Split cluster/).waitFor();
  assert.equal(await names.count(), 3);
  await page.keyboard.press('Control+z');
  await page.getByText(/Undid: Merged clusters/).waitFor();
  assert.equal(await names.count(), 4);
  assert.deepEqual(await page.locator('.size').allInnerTexts(), ['11', '11', '11', '11']);
});

test('label photos with number keys, add a species, undo with Ctrl+Z', async () => {
  await page.getByRole('tab', { name: /Gallery/ }).click();
  const palette = page.getByRole('region', { name: 'Species palette' });
  const chips = palette.getByRole('button');
  const secondSpecies = (await chips.nth(1).innerText()).replace(/^2\s*/, '').trim();
  const labels = page.getByTestId('label');
  const before = (await labels.first().innerText()).split(' · ')[0];
  assert.notEqual(before, secondSpecies);

  await page.locator('button.tile').first().click();
  await page.keyboard.press('2');
  await page.getByText(`Labeled as ${secondSpecies}: 1 image. Undo with Ctrl+Z.`).waitFor();
  assert.match(await labels.first().innerText(), new RegExp(`^${secondSpecies} ✓`));
  // Focus moved on to the next photo: label it with a new species.
  await page.getByRole('textbox', { name: 'New species' }).fill('Mystery moth');
  await page.getByRole('button', { name: 'Add species' }).click();
  await page.locator('button.tile').nth(1).focus();
  await page.keyboard.press('5');
  await page.getByText('Labeled as Mystery moth: 1 image. Undo with Ctrl+Z.').waitFor();
  assert.match(await labels.nth(1).innerText(), /^Mystery moth ✓/);
  await page.screenshot({ path: path.join(outputFolder, 'label.png') });

  await page.keyboard.press('Control+z');
  await waitUntil(async () => !(await labels.nth(1).innerText()).startsWith('Mystery moth'));
  await page.keyboard.press('Control+z');
  await waitUntil(async () => (await labels.first().innerText()).split(' · ')[0] === before);
  await page.getByRole('tab', { name: /Clusters/ }).click();
});

test('a long import shows progress and can be cancelled', async () => {
  await page.getByRole('textbox', { name: 'Folder path' }).fill(moths);
  await page.getByRole('button', { name: 'Import folder' }).click();
  const progress = page.getByRole('progressbar', { name: 'Job progress' });
  await progress.waitFor({ timeout: 30_000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByText(/Cancelled; the work finished before cancelling is kept/).waitFor({ timeout: 30_000 });
  await progress.waitFor({ state: 'detached' });
});

test('bad input gets a clear message', async () => {
  await page.getByRole('textbox', { name: 'Folder path' }).fill('/no/such/folder');
  await page.getByRole('button', { name: 'Import folder' }).click();
  await page.getByRole('alert').getByText(/Folder not found: \/no\/such\/folder/).waitFor({ timeout: 30_000 });
});
