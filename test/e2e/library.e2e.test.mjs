// End to end, the library: Playwright drives Debian Chromium through the local bridge. A folder is dropped on
// the window (a real drop, sent through Chromium's input pipeline with the folder's path, as the OS would),
// photos are labeled with number keys, filtered by species, opened in the viewer and zoomed, labels come from
// a CSV, and a 50,000-photo library scrolls with only the visible rows in the page.
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { copySpecies, createProject, screenshot, useApp, waitUntil } from './harness.mjs';

const species = ['aglia_tau', 'arctia_caja', 'acronicta_psi'];
let page;
let dropped;
const app = useApp({ prefix: 'specimen-library-e2e-' }, () => {
  ({ page } = app);
  // Copies (not links), so the browser reads them as it would a folder on disk.
  dropped = copySpecies(path.join(app.temporary, 'night 2'), species);
});

// A drop as the operating system makes it: Chromium builds real file-system entries for the dropped path.
async function dropFolder(folder) {
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files: [folder], dragOperationsMask: 1 };
  await cdp.send('Input.dispatchDragEvent', { type: 'dragEnter', x: 700, y: 450, data });
  await cdp.send('Input.dispatchDragEvent', { type: 'dragOver', x: 710, y: 460, data });
  await page.getByRole('region', { name: 'Drop target' }).waitFor();
  await screenshot(page, 'drop.png');
  await cdp.send('Input.dispatchDragEvent', { type: 'drop', x: 710, y: 460, data });
  await cdp.detach();
}

test('drop a folder, label with number keys, filter, view and zoom, import labels from a CSV', async () => {
  const counts = Object.fromEntries(species.map((name) => [name, readdirSync(path.join(dropped, name)).length]));
  const totalFiles = Object.values(counts).reduce((sum, count) => sum + count, 0);

  await page.getByRole('heading', { name: 'Photos' }).waitFor();
  await dropFolder(dropped);
  await page.getByText(`Imported ${totalFiles} images.`).waitFor({ timeout: 90_000 });
  assert.equal(await page.getByRole('region', { name: 'Drop target' }).count(), 0, 'the drop target is gone after the drop');

  await page.getByRole('tab', { name: /Gallery/ }).click();
  const grid = page.getByRole('grid', { name: 'Photos' });
  await grid.getByRole('img').first().waitFor();
  await page.getByText(`${totalFiles} photos`, { exact: true }).waitFor();
  const chips = page.getByRole('region', { name: 'Species palette' }).locator('button.chip');
  assert.deepEqual((await chips.allInnerTexts()).map((text) => text.replace(/^\d\s*/, '').trim()).sort(), [...species].sort());
  const third = (await chips.nth(2).innerText()).replace(/^3\s*/, '').trim();

  // Label the first two photos as the third palette species with the keyboard.
  const labels = page.getByTestId('label');
  const originals = [(await labels.nth(0).innerText()).split(' · ')[0], (await labels.nth(1).innerText()).split(' · ')[0]];
  await page.locator('button.tile').first().focus();
  await page.keyboard.press('3');
  await page.getByText(`Labeled as ${third}: 1 image. Undo with Ctrl+Z.`).waitFor();
  await page.keyboard.press('3');
  await waitUntil(async () => (await labels.nth(1).innerText()).startsWith(`${third} ✓`));
  assert.match(await labels.nth(0).innerText(), new RegExp(`^${third} ✓`));

  // Filter to that species: its folder's photos plus the two just labeled (unless they were already of it).
  const expected = counts[third] + originals.filter((label) => label !== third).length;
  await page.getByRole('combobox', { name: 'Species' }).selectOption(third);
  await page.getByText(`${expected} photos of ${totalFiles}`).waitFor();
  assert.ok((await labels.allInnerTexts()).every((text) => text.startsWith(third)), 'every photo shown is of the species');

  // Shift-click selects a range; Select all selects everything the filter keeps.
  await page.locator('button.tile').nth(0).click();
  await page.locator('button.tile').nth(3).click({ modifiers: ['Shift'] });
  await page.getByText(`${expected} photos of ${totalFiles}, 4 selected`).waitFor();
  await page.getByRole('button', { name: 'Select all' }).click();
  await page.getByText(`, ${expected} selected`).waitFor();
  await page.getByRole('button', { name: 'Clear selection' }).click();
  await page.getByRole('combobox', { name: 'Species' }).selectOption('');
  await page.getByText(`${totalFiles} photos`, { exact: true }).waitFor();

  // The viewer: Enter opens the focused photo full size; zoom with the buttons, the keyboard and the wheel.
  const firstName = await page.locator('.cell .name').first().innerText();
  await page.locator('button.tile').first().focus();
  await page.keyboard.press('Enter');
  const viewer = page.getByRole('dialog', { name: `Photo ${firstName}` });
  await viewer.waitFor();
  const photo = viewer.getByRole('img', { name: firstName });
  await waitUntil(() => photo.evaluate((image) => image.complete && image.naturalWidth > 0));
  const zoomLevel = async () => Number((await viewer.getByLabel('Zoom level').innerText()).replace('%', ''));
  const fitted = await zoomLevel();
  await viewer.getByRole('button', { name: 'Zoom in' }).click();
  await viewer.getByRole('button', { name: 'Zoom in' }).click();
  assert.ok((await zoomLevel()) > fitted * 1.5, 'zoomed in');
  await page.keyboard.press('-');
  const box = await viewer.locator('.stage').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  const beforeWheel = await zoomLevel();
  await page.mouse.wheel(0, -300);
  await waitUntil(async () => (await zoomLevel()) > beforeWheel);
  // Pan by dragging moves the photo.
  const transform = () => photo.evaluate((image) => image.style.transform);
  const beforePan = await transform();
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 120, box.y + box.height / 2 - 60, { steps: 4 });
  await page.mouse.up();
  assert.notEqual(await transform(), beforePan, 'dragging pans');
  await screenshot(page, 'viewer.png');
  await viewer.getByRole('button', { name: 'Fit' }).click();
  assert.equal(await zoomLevel(), fitted);
  await page.keyboard.press('ArrowRight');
  await page.getByRole('dialog', { name: /^Photo / }).getByText(`2 of ${totalFiles}`).waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });

  // Labels from a CSV: preview, then apply.
  const photoNames = readdirSync(path.join(dropped, species[0])).slice(0, 2);
  const csvFile = path.join(app.temporary, 'labels.csv');
  writeFileSync(csvFile, ['file_name,species', ...photoNames.map((name) => `${name},Csv moth`), 'no-such-photo.jpg,Csv moth'].join('\n'));
  await page.getByLabel('Import labels CSV').setInputFiles(csvFile);
  const preview = page.getByRole('region', { name: 'Labels CSV preview' });
  await preview.getByText('2 images matched, 1 row unmatched, 0 ambiguous.').waitFor();
  await preview.getByRole('cell', { name: 'no image with this path or file name' }).waitFor();
  await preview.getByRole('button', { name: 'Apply labels' }).click();
  await page.getByText('Labeled 2 images from labels.csv.').waitFor();
  await page.getByRole('combobox', { name: 'Species' }).selectOption('Csv moth');
  await page.getByText(`2 photos of ${totalFiles}`).waitFor();
  assert.deepEqual((await page.locator('.cell .name').allInnerTexts()).sort(), [...photoNames].sort());

  // Rename that species from the palette and give it a colour; the filter follows the new name.
  await page.getByRole('combobox', { name: 'Rename from' }).selectOption('Csv moth');
  await page.getByRole('textbox', { name: 'Rename to' }).fill('Lab moth');
  await page.getByRole('button', { name: 'Rename species' }).click();
  await page.getByText('Renamed Csv moth to Lab moth on 2 images.').waitFor();
  await page.getByRole('textbox', { name: 'Colour of Lab moth' }).fill('#cc3311');
  await waitUntil(async () => (await page.getByRole('textbox', { name: 'Colour of Lab moth' }).inputValue()) === '#cc3311');
  await page.getByRole('combobox', { name: 'Species' }).selectOption('Lab moth');
  await page.getByText(`2 photos of ${totalFiles}`).waitFor();
  await page.reload();
  await page.getByRole('tab', { name: /Gallery/ }).click();
  assert.equal(await page.getByRole('textbox', { name: 'Colour of Lab moth' }).inputValue(), '#cc3311', 'the colour is stored');
  await page.getByRole('grid', { name: 'Photos' }).getByRole('img').first().waitFor();
  await screenshot(page, 'library.png');
});

test('a library of 50,000 photos keeps only the visible rows in the page and scrolls to its end', async () => {
  // A project whose 50,000 rows share one photo: the grid, not the import, is under test here.
  const projectFolder = await createProject(path.join(app.temporary, 'big'));
  const photo = path.join(dropped, species[0], readdirSync(path.join(dropped, species[0]))[0]);
  const sha256 = 'f'.repeat(64);
  copyFileSync(photo, path.join(projectFolder, 'thumbnails', `${sha256}.jpg`));
  const database = new Database(path.join(projectFolder, 'project.sqlite'));
  const insert = database.prepare(
    "INSERT INTO images (path, file_name, folder, sha256, status, imported_at) VALUES (?, ?, '/big', ?, 'ok', '2026-01-01T00:00:00Z')",
  );
  database.transaction(() => {
    for (let index = 0; index < 50_000; index++) insert.run(`/big/moth-${String(index).padStart(5, '0')}.jpg`, `moth-${String(index).padStart(5, '0')}.jpg`, sha256);
  })();
  database.close();
  const big = await app.startBridge(projectFolder);
  await page.goto(big.url);
  await page.getByRole('tab', { name: /Gallery/ }).click();
  const grid = page.getByRole('grid', { name: 'Photos' });
  await page.getByText('50000 photos', { exact: true }).waitFor();
  await grid.getByRole('img', { name: 'moth-00000.jpg' }).waitFor();
  const tiles = await page.locator('button.tile').count();
  assert.ok(tiles > 0 && tiles < 300, `only the visible rows are in the page (${tiles} tiles)`);

  await grid.evaluate((element) => (element.scrollTop = element.scrollHeight));
  await grid.getByRole('img', { name: 'moth-49999.jpg' }).waitFor();
  assert.ok((await page.locator('button.tile').count()) < 300);
  // Keyboard: End and Home jump, arrows move focus, and the focused photo stays in view.
  await grid.getByRole('img', { name: 'moth-49999.jpg' }).click();
  await page.keyboard.press('Home');
  await grid.getByRole('img', { name: 'moth-00000.jpg' }).waitFor();
  await page.keyboard.press('ArrowDown');
  const focused = await page.evaluate(() => document.activeElement?.querySelector('img')?.alt);
  const perRow = await grid.getByRole('row').first().getByRole('gridcell').count();
  assert.equal(focused, `moth-${String(perRow).padStart(5, '0')}.jpg`);
  await page.getByRole('button', { name: 'Clear selection' }).click();
  await page.getByRole('searchbox', { name: 'File name' }).fill('MOTH-4999');
  await page.getByText('10 photos of 50000', { exact: true }).waitFor();
  assert.deepEqual(await page.locator('.cell .name').allInnerTexts(), Array.from({ length: 10 }, (_, index) => `moth-4999${index}.jpg`));
  await screenshot(page, 'library-50k.png');
});
