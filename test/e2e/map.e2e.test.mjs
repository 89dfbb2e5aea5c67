// End to end: the Map view. Import four species of EU Moths, cluster, open the Map tab, hover a point,
// lasso photos with the mouse (Shift-drag), label them and move them to a new cluster, and check what the
// screen and the API then say.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { importFolder, linkSpecies, screenshot, tfjsModel, useApp } from './harness.mjs';

const species = ['aglia_tau', 'acronicta_psi', 'abrostola_triplasia', 'arctia_caja'];
let page;
let subset;
let invoke;
useApp({ prefix: 'specimen-e2e-map-', model: tfjsModel }, (app) => {
  ({ page } = app);
  ({ invoke } = app.bridge);
  subset = linkSpecies(path.join(app.temporary, 'light trap, night 2'), species);
});

test('the map asks for clustering first, then shows, selects, labels and moves photos', async () => {
  await importFolder(page, subset, 44);

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
  await screenshot(page, 'map.png');

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

  // Ctrl+Z on the Map undoes the newest change first (the move), then the labeling before it.
  await page.keyboard.press('Control+z');
  await page.getByText(/^Undid: /).waitFor();
  assert.equal((await invoke('clusters:latest', {})).clusters.some((card) => card.clusterId === 5), false, 'the move is undone');
  await page.keyboard.press('Control+z');
  await page.getByText(`Undid labeling of ${selected} image${selected === 1 ? '' : 's'}.`).waitFor();
  assert.equal((await invoke('map:points', {})).species.filter((name) => name === 'Map moth').length, 0, 'the labels are undone');
});
