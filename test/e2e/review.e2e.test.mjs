// End to end: reviewing clusters as a biologist would, in Debian Chromium through the local bridge: import six
// labeled moth species, cluster, fine-tune with tiny settings and watch the curves, cluster again and compare
// before / after, merge two cards by dragging one onto the other with the mouse, undo, move picked photos,
// mark a cluster as a species with the keyboard, and read the Evaluate tab (scores, heatmap, runs).
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { importFolder, linkSpecies, screenshot, speciesFiles, tfjsModel, useApp } from './harness.mjs';

// Six species of 11 photos each: enough (shot 5 + query 6) to train, and 6 lets training hold 2 out for validation.
const species = ['aglia_tau', 'acronicta_psi', 'abrostola_triplasia', 'arctia_caja', 'xestia_baja', 'xanthorhoe_montanata'];
const imageCount = speciesFiles(species).length;
let page;
let trap;
useApp({ prefix: 'specimen-review-', model: tfjsModel }, (app) => {
  ({ page } = app);
  trap = linkSpecies(path.join(app.temporary, 'trap'), species);
});

const cards = () => page.getByRole('list', { name: 'Clusters' }).getByRole('listitem');
const sizes = async () => (await page.locator('.card .size').allInnerTexts()).map(Number);

/** Drags card `from` (by its handle) onto card `to` with real mouse events; checks the drop target shows. */
async function dragCardOnto(from, to) {
  const handle = cards().nth(from).getByTestId('drag-handle');
  const target = cards().nth(to);
  const start = await handle.boundingBox();
  const end = await target.boundingBox();
  await page.mouse.move(start.x + start.width / 2, start.y + start.height / 2);
  await page.mouse.down();
  await page.mouse.move(start.x + 30, start.y + 30, { steps: 5 });
  await page.mouse.move(end.x + end.width / 2, end.y + end.height / 2, { steps: 12 });
  await target.getByText(/^Drop to merge into /).waitFor();
  assert.match(await target.getAttribute('class'), /drop-target/, 'the card under the pointer is marked as the drop target');
  await screenshot(page, 'review-clusters.png');
  await page.mouse.up();
}

test('import labeled photos, cluster, fine-tune with live curves, cluster again and compare', async () => {
  await page.getByRole('tab', { name: 'Evaluate' }).click();
  await page.getByText(/Nothing to evaluate yet/).waitFor();

  await importFolder(page, trap, imageCount);
  await page.getByRole('tab', { name: /Clusters/ }).click();
  assert.equal(await page.getByRole('spinbutton', { name: 'Number of clusters' }).inputValue(), '6');
  await page.getByRole('button', { name: 'Cluster', exact: true }).click();
  await page.getByText(`Made 6 clusters of ${imageCount} images`, { exact: false }).waitFor({ timeout: 120_000 });

  // Settings hold every training parameter with its default and a one-line explanation.
  await page.getByText('Settings', { exact: true }).click();
  const expected = {
    'Species per task (way)': '30',
    'Examples per species (shot)': '5',
    'Test images per species (query)': '6',
    'Tasks per epoch': '300',
    Epochs: '9',
    'Scatter loss weight (alpha)': '0.1',
    'Learning rate': '0.001',
    'Training seed': '0',
  };
  for (const [name, value] of Object.entries(expected)) {
    const field = page.getByRole('spinbutton', { name, exact: true });
    assert.equal(await field.inputValue(), value, `${name} defaults to ${value}`);
    assert.ok((await field.getAttribute('aria-describedby')) !== null, `${name} is explained`);
  }
  assert.equal(await page.getByRole('combobox', { name: 'Loss' }).inputValue(), 'proto');
  const trainable = page.getByRole('combobox', { name: 'What to fine-tune' });
  assert.equal(await trainable.inputValue(), 'head', 'the adapter alone by default');
  assert.deepEqual(await trainable.locator('option').allInnerTexts(), ['Adapter only', 'Last block and adapter']);
  await page.getByRole('spinbutton', { name: 'Epochs', exact: true }).fill('3');
  // Epochs long enough (seconds: a task on 4 species' whitened features takes a millisecond or two) that the
  // cancel lands before the run ends.
  await page.getByRole('spinbutton', { name: 'Tasks per epoch', exact: true }).fill('4000');
  await page.getByRole('spinbutton', { name: 'Species per task (way)', exact: true }).fill('4');
  await page.getByRole('button', { name: 'Train', exact: true }).click();
  const curves = page.getByRole('img', { name: /^Training curves/ });
  await curves.waitFor({ timeout: 30_000 });
  // Cancelled once the first epoch is plotted, then resumed: it goes on from the last finished epoch.
  await curves.locator('circle.validation-dot').first().waitFor({ timeout: 60_000 });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.getByText(/Cancelled; the work finished before cancelling is kept/).waitFor({ timeout: 30_000 });
  const resume = page.getByRole('button', { name: 'Resume training' });
  await resume.waitFor();
  const stoppedAt = Number((await page.locator('#train-resume-help').innerText()).match(/Stopped after (\d) of 3 epochs\./)?.[1]);
  assert.ok(stoppedAt >= 1 && stoppedAt <= 2, `stopped after 1 or 2 finished epochs: ${stoppedAt}`);
  await screenshot(page, 'review-resume.png', { fullPage: true });
  await resume.click();
  await page.getByText(/Fine-tuned on 4 species/).waitFor({ timeout: 180_000 });
  assert.equal(await resume.count(), 0, 'a finished run is no longer offered');
  const curveName = await curves.getAttribute('aria-label');
  assert.match(curveName, /epoch 3 of 3: loss \d+\.\d+, validation cluster accuracy \d\.\d{3}/, 'every epoch is plotted with a validation score');
  assert.equal(await curves.locator('circle.validation-dot').count(), 3, 'the epochs before the cancel are plotted again');
  assert.equal(await curves.locator('circle.loss-dot').count(), 3);
  await page.getByText('Cluster again to compare the clusters before and after fine-tuning.').waitFor();

  await page.getByRole('button', { name: 'Cluster', exact: true }).click();
  await page.getByText(`Made 6 clusters of ${imageCount} images`, { exact: false }).waitFor({ timeout: 120_000 });
  const comparison = page.getByRole('table', { name: 'Scores before and after fine-tuning' });
  await comparison.waitFor();
  const ariRow = comparison.getByRole('row', { name: /^ARI/ });
  assert.match(await ariRow.innerText(), /ARI\s+-?\d\.\d{3}\s+-?\d\.\d{3}\s+[+−]\d\.\d{3}/);
  assert.match(await comparison.locator('xpath=..').innerText(), /Before: run 1 \(K-means, k = 6, frozen.*After: run 2 \(K-means, k = 6, fine-tuned \(adapter 1\)\)/s);
  await screenshot(page, 'review-train.png', { fullPage: true });
});

test('merge two cards by dragging one onto the other, undo, and move picked photos', async () => {
  await page.getByRole('tab', { name: /Clusters/ }).click();
  assert.equal(await cards().count(), 6);
  const before = await sizes();
  const sourceName = await cards().nth(1).getByRole('textbox', { name: 'Cluster name' }).inputValue();
  const targetLabel = await cards().nth(0).getAttribute('aria-label');

  await dragCardOnto(1, 0);
  await page.getByText(new RegExp(`Merged ${before[1]} images into cluster ${targetLabel.replace('Cluster ', '')}\\.`)).waitFor();
  assert.equal(await cards().count(), 5);
  assert.equal((await sizes())[0], before[0] + before[1], 'the card dropped on holds both');
  const namesAfter = await page.getByRole('textbox', { name: 'Cluster name' }).evaluateAll((inputs) => inputs.map((input) => input.value));
  assert.ok(!namesAfter.includes(sourceName), `the dragged card "${sourceName}" is gone: ${namesAfter.join(', ')}`);

  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByText(/Undid: Merged clusters/).waitFor();
  assert.deepEqual(await sizes(), before);

  // Pick two photos of the largest card with the keyboard and move them to the second card.
  const first = cards().nth(0);
  const secondId = (await cards().nth(1).getAttribute('aria-label')).replace('Cluster ', '');
  const thumbnails = first.getByRole('button', { pressed: false }).filter({ has: page.locator('img') });
  await thumbnails.nth(0).focus();
  await page.keyboard.press('Enter');
  await first.getByRole('button', { pressed: true }).first().waitFor();
  await thumbnails.nth(0).focus();
  await page.keyboard.press('Space');
  assert.equal(await first.getByRole('button', { pressed: true }).count(), 2);
  await first.getByText('2 picked').waitFor();
  await first.getByRole('combobox', { name: 'Move picked images to' }).selectOption(secondId);
  await first.getByRole('button', { name: 'Move images' }).click();
  await page.getByText(`Moved 2 images to cluster ${secondId}.`, { exact: false }).waitFor();
  const moved = await sizes();
  assert.equal(moved.reduce((sum, size) => sum + size, 0), imageCount);
  assert.ok(moved.includes(before[0] - 2) && moved.includes(before[1] + 2), `sizes after the move: ${moved}`);
  await page.keyboard.press('Control+z');
  await page.getByText(/Undid: Moved 2 images/).waitFor();
  assert.deepEqual(await sizes(), before);
});

test('mark a cluster as a species with the keyboard, read the Evaluate tab, undo', async () => {
  const card = cards().nth(2);
  const clusterId = (await card.getAttribute('aria-label')).replace('Cluster ', '');
  const size = (await sizes())[2];
  const markButton = card.getByRole('button', { name: 'Mark as species' });
  await markButton.focus();
  await page.keyboard.press('Enter');
  const nameBox = card.getByRole('combobox', { name: 'Species name' });
  await nameBox.waitFor();
  const suggested = await nameBox.inputValue();
  assert.ok(species.includes(suggested), `prefilled with the cluster's majority species, got "${suggested}"`);
  assert.ok(await nameBox.evaluate((element) => element === document.activeElement), 'the name box has the focus');
  await page.keyboard.type('Night visitor');
  await page.keyboard.press('Enter');
  await page.getByText(new RegExp(`Labeled \\d+ images? of cluster ${clusterId} as Night visitor\\.`)).waitFor();
  const renamed = page.getByRole('listitem', { name: `Cluster ${clusterId}` });
  assert.equal(await renamed.getByRole('textbox', { name: 'Cluster name' }).inputValue(), 'Night visitor');
  assert.match(await renamed.innerText(), new RegExp(`Night visitor\\s+100% of labeled`));

  await page.getByRole('tab', { name: 'Evaluate' }).click();
  const heatmap = page.getByRole('img', { name: /^Confusion heatmap: 6 clusters \(rows\) against \d+ known species/ });
  await heatmap.waitFor();
  // Night visitor joins the species; a species whose every photo was in the marked cluster leaves.
  const knownSpecies = Number(/against (\d+) known species/.exec(await heatmap.getAttribute('aria-label'))[1]);
  assert.ok(knownSpecies >= 2 && knownSpecies <= 7, `${knownSpecies} species`);
  const scores = page.getByRole('region', { name: 'Scores of the latest run' });
  for (const metric of ['CA', 'NMI', 'AMI', 'ARI', 'Hungarian']) {
    assert.match(await scores.getByRole('row', { name: new RegExp(`^${metric} `) }).innerText(), new RegExp(`^${metric}\\s+-?\\d\\.\\d{3}`));
  }
  await page.getByText('Counts as a table').click();
  const nightRow = page.getByRole('row', { name: /^Night visitor/ });
  const cellsOfRow = (await nightRow.getByRole('cell').allInnerTexts()).map(Number);
  assert.equal(cellsOfRow.reduce((sum, count) => sum + count, 0), size, 'every image of the marked cluster is counted');
  assert.equal(cellsOfRow.at(-1), 0, 'none of them is unlabeled any more');

  // Hover the top-left cell: the tooltip names the cluster, the species and the count.
  const canvas = heatmap.locator('canvas');
  const [left, top, cell] = await Promise.all(['data-left', 'data-top', 'data-cell'].map(async (name) => Number(await canvas.getAttribute(name))));
  await canvas.hover({ position: { x: left + cell / 2, y: top + cell / 2 } });
  const tooltip = page.getByTestId('heatmap-tooltip');
  await tooltip.waitFor();
  assert.match(await tooltip.innerText(), /^.+ × .+: \d+ images?$/);
  const runs = page.getByRole('region', { name: 'Clustering runs' });
  assert.equal(await runs.getByRole('row').count(), 3, 'a header and two runs');
  assert.match(await runs.getByRole('row').nth(1).innerText(), /^2 \(latest\).*K-means\s+6\s+fine-tuned \(adapter 1\)/s);
  await page.getByRole('region', { name: 'Before and after fine-tuning' }).waitFor();
  await screenshot(page, 'evaluate.png', { fullPage: true });

  await page.getByRole('tab', { name: /Clusters/ }).click();
  await page.keyboard.press('Control+z');
  await page.getByText(/Undid: Labeled \d+ images of cluster/).waitFor();
  assert.notEqual(await page.getByRole('listitem', { name: `Cluster ${clusterId}` }).getByRole('textbox', { name: 'Cluster name' }).inputValue(), 'Night visitor');
  await page.getByRole('tab', { name: 'Evaluate' }).click();
  await page.getByRole('img', { name: /^Confusion heatmap: 6 clusters \(rows\) against 6 known species/ }).waitFor();
});
