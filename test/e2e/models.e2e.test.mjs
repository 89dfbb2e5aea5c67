// End to end: the Model panel. Add a model from a URL served on 127.0.0.1 and from a file path, switch the
// project to it, cluster with it, and switch back to the bundled default.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, test } from 'node:test';
import { importFolder, linkSpecies, onnxModel, screenshot, useApp } from './harness.mjs';

let server;
let base;
let page;
// No model: the project starts on the bundled default; models are added to a fresh app data folder.
const app = useApp({ env: (temporary) => ({ SPECIMEN_SORTER_DATA: path.join(temporary, 'app data') }) }, async () => {
  ({ page } = app);
  const bytes = readFileSync(onnxModel);
  server = http.createServer((request, response) => {
    if (request.url !== '/zoo/mobilenet.onnx') return response.writeHead(404).end();
    response.writeHead(200, { 'content-length': bytes.length }).end(bytes);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => (server ? server.close(resolve) : resolve())));

test('add a model from a URL and from a file, cluster with it, switch back', async () => {
  const chooser = page.getByRole('combobox', { name: 'Image model' });
  await chooser.waitFor();
  // The list loads after the panel appears (until then it offers "None: add one below").
  await chooser.locator('option:checked', { hasText: /tm-mobilenetv2-0\.35 \(bundled\)/ }).waitFor({ state: 'attached', timeout: 15_000 });
  assert.match(await chooser.locator('option:checked').innerText(), /tm-mobilenetv2-0\.35 \(bundled\)/);

  const source = page.getByRole('textbox', { name: 'Model file, folder or URL' });
  await source.fill(`${base}/zoo/mobilenet.onnx`);
  await page.getByRole('button', { name: 'Add model' }).click();
  await page.getByText(/Added mobilenet\.onnx \(onnx, 1280-d features/).waitFor({ timeout: 60_000 });
  // The same bytes from disk are the same model, not a second entry.
  await source.fill(onnxModel);
  await page.getByRole('button', { name: 'Add model' }).click();
  await page.getByText(/Added mobilenet\.onnx \(onnx/).waitFor({ timeout: 60_000 });
  assert.equal(await chooser.locator('option').count(), 2);

  await chooser.selectOption({ label: 'mobilenet.onnx (onnx)' });
  await page.getByText(/Now using mobilenet\.onnx/).waitFor();

  await importFolder(page, linkSpecies(path.join(app.temporary, 'night'), ['aglia_tau', 'arctia_caja']), 22);
  await page.getByRole('spinbutton', { name: 'Number of clusters' }).fill('2');
  await page.getByRole('button', { name: 'Cluster', exact: true }).click();
  await page.getByText(/Made 2 clusters of 22 images \(22 newly embedded\)/).waitFor({ timeout: 120_000 });
  await screenshot(page, 'models.png');

  // Switching back embeds with the bundled model (its own cache), and the error for a bad path says what to do.
  await chooser.selectOption({ label: 'tm-mobilenetv2-0.35 (bundled) (tfjs)' });
  await page.getByText(/Now using tm-mobilenetv2-0\.35/).waitFor();
  await source.fill(path.join(app.temporary, 'no such model.onnx'));
  await page.getByRole('button', { name: 'Add model' }).click();
  await page.getByRole('alert').filter({ hasText: /no such model\.onnx/ }).waitFor({ timeout: 30_000 });
  assert.deepEqual(app.errors, []);
});
