// End to end: Playwright drives Debian Chromium through the local bridge as a user would: import a folder
// of real moth photos, cluster, rename a cluster, export the CSV and read it back, cancel a long import.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { importFolder, linkSpecies, moths, outputFolder, screenshot, speciesFiles, tfjsModel, useApp, waitUntil } from './harness.mjs';

const species = ['aglia_tau', 'acronicta_psi', 'abrostola_triplasia', 'arctia_caja'];
let page;
let subset;
useApp({ model: tfjsModel }, (app) => {
  ({ page } = app);
  // A small subset of EU Moths, linked (not copied) from ../shared.
  subset = linkSpecies(path.join(app.temporary, 'light trap, night 1'), species);
});

test('import a folder, cluster, rename, export and read the CSV back', async () => {
  const expectedFiles = speciesFiles(species);
  await importFolder(page, subset, expectedFiles.length);

  await page.getByRole('tab', { name: /Gallery/ }).click();
  const firstFile = speciesFiles([species[0]])[0];
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
  await screenshot(page, 'gallery.png');

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
  await screenshot(page, 'clusters.png', { fullPage: false });

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
  await screenshot(page, 'train.png', { fullPage: true });

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
  await screenshot(page, 'clusters-edited.png');

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
  await screenshot(page, 'label.png');

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
