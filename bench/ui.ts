/**
 * `npm run bench:ui [-- --images 50000 --dims 256 --clusters 50]`: frame times of the interface at scale.
 * A synthetic project (N images sharing a few tiny thumbnails, random clustered embeddings, one cluster run)
 * is written straight through ProjectStore in seconds, served by the local bridge (needs `npm run build`),
 * and driven in headless Chromium (no GPU). In-page drivers change the view on every animation frame, so each
 * frame has work to do: (a) the Map: drag-panning, then wheel zooming in and out, over every point; (b) the
 * Gallery: scrolling its grid (found by its role and name, "Photos") steadily, then from top to bottom. Prints a table of
 * requestAnimationFrame intervals; the last line is one JSON object. Target: above 50 fps for the map and the
 * steady scroll; the fling (about 2,400 px a frame, every frame all new rows) is reported beside them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { Project } from '../src-main/services/project';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '50000' },
    dims: { type: 'string', default: '256' },
    clusters: { type: 'string', default: '50' },
    keep: { type: 'boolean', default: false },
    'build-only': { type: 'boolean', default: false },
  },
});
const count = Number(values.images);
const dims = Number(values.dims);
const clusterCount = Number(values.clusters);
const root = process.cwd();
for (const built of ['out/renderer/index.html', 'out/node/bridge.js']) {
  if (!existsSync(path.join(root, built))) throw new Error(`Missing ${built}: run \`npm run build\` first.`);
}
const temporary = mkdtempSync(path.join(os.tmpdir(), 'specimen-bench-ui-'));
const projectFolder = path.join(temporary, 'project');

/** Writes the synthetic project: images, shared thumbnails (hard links), embeddings, labels, one run. */
async function buildProject(): Promise<number> {
  const started = performance.now();
  const project = Project.open(projectFolder);
  const { store } = project;
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const centres = Array.from({ length: clusterCount }, () => Float32Array.from({ length: dims }, () => random() * 4 - 2));
  const thumbnails: string[] = [];
  for (let cluster = 0; cluster < clusterCount; cluster++) {
    const file = path.join(temporary, `thumbnail-${cluster}.jpg`);
    const colour = { r: (cluster * 53) % 256, g: (cluster * 97) % 256, b: (cluster * 31) % 256 };
    await sharp({ create: { width: 48, height: 36, channels: 3, background: colour } }).jpeg({ quality: 60 }).toFile(file);
    thumbnails.push(file);
  }
  const batch = 5000;
  const assignments: { imageId: number; clusterId: number; distance: number }[] = [];
  for (let from = 0; from < count; from += batch) {
    const size = Math.min(batch, count - from);
    const records = Array.from({ length: size }, (_, offset) => {
      const index = from + offset;
      const cluster = index % clusterCount;
      return {
        path: `/synthetic/species-${cluster}/specimen-${index}.jpg`,
        fileName: `specimen-${index}.jpg`,
        folder: `/synthetic/species-${cluster}`,
        sha256: createHash('sha256').update(`specimen ${index}`).digest('hex'),
        sizeBytes: 1000,
        width: 48,
        height: 36,
        status: 'ok' as const,
        error: null,
      };
    });
    const ids = store.upsertImages(records);
    const embeddings = records.map((record, offset) => {
      const centre = centres[(from + offset) % clusterCount]!;
      const vector = Float32Array.from(centre, (value) => value + (random() + random() + random() - 1.5) * 0.6);
      return { sha256: record.sha256, vector };
    });
    store.putEmbeddings('synthetic', dims, embeddings);
    records.forEach((record, offset) => {
      const cluster = (from + offset) % clusterCount;
      linkSync(thumbnails[cluster]!, project.thumbnailPath(record.sha256));
      assignments.push({ imageId: ids[offset]!, clusterId: cluster + 1, distance: random() });
    });
    // One image in ten carries its folder's species name, as after an import with folder labels.
    store.setLabels(ids.flatMap((imageId, offset) => ((from + offset) % 10 === 0 ? [{ imageId, species: `Species ${(from + offset) % clusterCount}` }] : [])), 'folder');
  }
  store.saveModel({ id: 'synthetic', name: 'synthetic embeddings', source: 'bench/ui.ts', format: 'synthetic', dims, preprocessing: null });
  store.saveRun({ method: 'kmeans', k: clusterCount, seed: 0, modelId: 'synthetic', parameters: { synthetic: true } }, assignments);
  await project.close();
  return performance.now() - started;
}

function startBridge(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'out', 'node', 'bridge.js'), '--project', projectFolder], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /Listening on (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/.exec(output);
      if (match) resolve({ child, url: match[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    child.on('exit', (code) => reject(new Error(`bridge exited with ${code}: ${output}`)));
  });
}

interface CaseResult {
  case: string;
  frames: number;
  mean_fps: number;
  p95_frame_ms: number;
  worst_frame_ms: number;
  note?: string;
}

function summarise(name: string, intervals: number[], note?: string): CaseResult {
  if (intervals.length === 0) return { case: name, frames: 0, mean_fps: 0, p95_frame_ms: 0, worst_frame_ms: 0, ...(note ? { note } : {}) };
  const sorted = [...intervals].sort((a, b) => a - b);
  const mean = intervals.reduce((sum, value) => sum + value, 0) / intervals.length;
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    case: name,
    frames: intervals.length,
    mean_fps: round(1000 / mean),
    p95_frame_ms: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!),
    worst_frame_ms: round(sorted[sorted.length - 1]!),
    ...(note ? { note } : {}),
  };
}

// The in-page drivers are plain JavaScript (this file is type-checked for Node, without the DOM's types).

/** In the page: pans (drag) for `panFrames` frames, then zooms (wheel) in and out for `zoomFrames`; one event per frame. */
const MAP_DRIVER = `(panFrames, zoomFrames) => new Promise((resolve, reject) => {
  const canvas = document.querySelector('canvas[aria-label^="Map of"]');
  if (!canvas) return reject(new Error('The map canvas was not found'));
  const box = canvas.getBoundingClientRect();
  const centreX = box.left + box.width / 2;
  const centreY = box.top + box.height / 2;
  const mouse = (type, target, x, y) =>
    target.dispatchEvent(new MouseEvent(type, { bubbles: true, cancelable: true, view: window, clientX: x, clientY: y, button: 0, buttons: type === 'mouseup' ? 0 : 1 }));
  const times = [];
  let frame = 0;
  mouse('mousedown', canvas, centreX, centreY);
  const tick = (time) => {
    times.push(time);
    frame++;
    if (frame < panFrames) {
      mouse('mousemove', window, centreX + 200 * Math.sin(frame / 15), centreY + 120 * Math.sin(frame / 23));
    } else if (frame === panFrames) {
      mouse('mouseup', window, centreX, centreY);
    } else if (frame < panFrames + zoomFrames) {
      const zoomingIn = frame - panFrames < zoomFrames / 2;
      canvas.dispatchEvent(new WheelEvent('wheel', { bubbles: true, cancelable: true, view: window, clientX: centreX + 40, clientY: centreY - 30, deltaY: zoomingIn ? -60 : 60, deltaMode: 0 }));
    } else {
      return resolve(times.slice(1).map((value, index) => value - times[index]));
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})`;

/** In the page: the element that scrolls, the grid itself or its nearest scrollable ancestor. */
const FIND_SCROLLER = `(element) => {
  let scroller = element;
  while (scroller && scroller.scrollHeight <= scroller.clientHeight + 1) scroller = scroller.parentElement;
  return scroller;
}`;

/**
 * In the page: scrolls in `frames` frames, one step per frame: `step` pixels a frame from the top, or, when
 * `step` is 0, from top to bottom (a fling through everything: every frame shows new rows).
 */
const SCROLL_DRIVER = `(element, frames, step) => new Promise((resolve) => {
  const target = (${FIND_SCROLLER})(element) ?? document.scrollingElement;
  target.scrollTop = 0;
  const distance = step > 0 ? step * frames : target.scrollHeight - target.clientHeight;
  const times = [];
  let frame = 0;
  const tick = (time) => {
    times.push(time);
    frame++;
    if (frame <= frames) {
      target.scrollTop = Math.round((distance * frame) / frames);
      requestAnimationFrame(tick);
    } else {
      resolve({ intervals: times.slice(1).map((value, index) => value - times[index]), scrolled: target.scrollTop });
    }
  };
  requestAnimationFrame(tick);
})`;

async function measureMap(page: Page, panFrames: number, zoomFrames: number): Promise<number[]> {
  return (await page.evaluate(`(${MAP_DRIVER})(${panFrames}, ${zoomFrames})`)) as number[];
}

/** Scrolls the gallery's grid (see SCROLL_DRIVER); null when no grid named "Photos" exists. */
async function measureGallery(page: Page, frames: number, step: number): Promise<{ intervals: number[]; scrolled: number } | null> {
  const grid = page.getByRole('grid', { name: 'Photos' });
  try {
    await grid.waitFor({ timeout: 15_000 });
  } catch {
    return null;
  }
  // In the page, the same grid by its role and name (string scripts are not subject to the page's CSP, eval is).
  const gridElement = `document.querySelector('[role="grid"][aria-label="Photos"]')`;
  // Wait until the grid knows every row (its scroll height), so the scroll really goes top to bottom.
  await page
    .waitForFunction(`(() => { const scroller = (${FIND_SCROLLER})(${gridElement}); return scroller !== null && scroller.scrollHeight > 20 * scroller.clientHeight; })()`, undefined, { timeout: 20_000 })
    .catch(() => undefined);
  return (await page.evaluate(`(${SCROLL_DRIVER})(${gridElement}, ${frames}, ${step})`)) as { intervals: number[]; scrolled: number };
}

const buildMs = await buildProject();
if (values['build-only']) {
  console.log(`Synthetic project written to ${projectFolder} in ${(buildMs / 1000).toFixed(1)} s.`);
  process.exit(0);
}
const bridge = await startBridge();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const results: CaseResult[] = [];
const extra: Record<string, number> = {};
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(bridge.url);
  await page.getByRole('tab', { name: 'Map' }).waitFor();

  const openMap = async () => {
    const started = performance.now();
    await page.getByRole('tab', { name: 'Map' }).click();
    await page.getByText(new RegExp(`^${count.toLocaleString('en')} images · PCA`)).waitFor({ timeout: 120_000 });
    return performance.now() - started;
  };
  extra.map_first_open_ms = Math.round(await openMap());
  await page.getByRole('tab', { name: /Clusters/ }).click();
  extra.map_reopen_ms = Math.round(await openMap());
  await page.waitForTimeout(500);
  results.push(summarise(`map pan + zoom, ${count.toLocaleString('en')} points`, await measureMap(page, 240, 120)));

  await page.getByRole('tab', { name: /Gallery/ }).click();
  // A steady scroll at 50 px a frame (3,000 px/s, a fast wheel or trackpad), then a fling through all rows.
  const steady = await measureGallery(page, 600, 50);
  if (steady === null) results.push(summarise('gallery scroll', [], 'no grid named "Photos" found'));
  else {
    results.push(summarise(`gallery steady scroll, 3,000 px/s, ${count.toLocaleString('en')} images`, steady.intervals, `scrolled ${steady.scrolled} px`));
    const fling = (await measureGallery(page, 600, 0))!;
    results.push(summarise(`gallery fling top to bottom in 600 frames`, fling.intervals, `scrolled ${fling.scrolled} px`));
  }
} finally {
  await browser.close();
  bridge.child.kill('SIGTERM');
  if (!values.keep) rmSync(temporary, { recursive: true, force: true });
}

console.log(`Synthetic project: ${count} images, ${dims}-d embeddings, ${clusterCount} clusters, written in ${(buildMs / 1000).toFixed(1)} s.`);
console.log(`Map: first open ${extra.map_first_open_ms} ms (projection + transfer + first draw), reopened ${extra.map_reopen_ms} ms (cached projection).`);
const header = ['case', 'frames', 'mean fps', 'p95 frame ms', 'worst frame ms'];
const rows = results.map((row) => [row.case + (row.note ? ` (${row.note})` : ''), String(row.frames), String(row.mean_fps), String(row.p95_frame_ms), String(row.worst_frame_ms)]);
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
const line = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(JSON.stringify({ cases: results, ...extra }));
