/**
 * `node scripts/run-ts.mjs bench/huge-image.ts [-- --side 20000]`: time and peak memory of importing and
 * embedding-decoding one very large image, as a solid-colour JPEG (shrink-on-load applies) and PNG (no
 * shrink-on-load: streamed in strips). Each measurement runs in a fresh process, so its peak RSS
 * (process.resourceUsage().maxRSS) is its own; `baseline` is a process that only loaded the modules.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeForModel, inspectImage } from '../src-main/core/images/decode';

const { values } = parseArgs({ options: { side: { type: 'string', default: '20000' }, measure: { type: 'string' }, file: { type: 'string' } } });

if (values.measure) {
  // Child: one measurement, printed as JSON on stdout.
  const file = values.file!;
  const started = performance.now();
  if (values.measure === 'inspect') await inspectImage(file, () => path.join(path.dirname(file), 'thumbnail.jpg'));
  if (values.measure === 'decode') {
    await decodeForModel(file, { size: 224, resize: 'cover', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], layout: 'nchw' });
  }
  const durationMs = performance.now() - started;
  process.stdout.write(JSON.stringify({ durationMs, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
} else {
  const side = Number(values.side);
  const temporary = mkdtempSync(path.join(os.tmpdir(), 'specimen-bench-huge-'));
  try {
    const rows: string[] = [];
    const measure = (step: string, file: string) =>
      JSON.parse(execFileSync(process.execPath, [process.argv[1]!, '--measure', step, '--file', file], { encoding: 'utf8' })) as {
        durationMs: number;
        peakRssMb: number;
      };
    const baseline = measure('baseline', '');
    rows.push(`${'baseline (modules loaded)'.padEnd(30)} ${'-'.padStart(10)} ${'-'.padStart(10)} ${baseline.peakRssMb.toFixed(0).padStart(12)}`);
    for (const format of ['jpeg', 'png'] as const) {
      const file = path.join(temporary, `huge.${format}`);
      const started = performance.now();
      const create = sharp({ create: { width: side, height: side, channels: 3, background: '#786450' }, limitInputPixels: false });
      await (format === 'jpeg' ? create.jpeg({ quality: 60, optimiseCoding: false }) : create.png()).toFile(file);
      const createMs = performance.now() - started;
      rows.push(`${`create ${format} ${side}x${side}`.padEnd(30)} ${(statSync(file).size / 1e6).toFixed(1).padStart(10)} ${createMs.toFixed(0).padStart(10)} ${'-'.padStart(12)}`);
      for (const step of ['inspect', 'decode'] as const) {
        const result = measure(step, file);
        const name = step === 'inspect' ? 'inspectImage (import)' : 'decodeForModel (embed)';
        rows.push(`${`${name} ${format}`.padEnd(30)} ${'-'.padStart(10)} ${result.durationMs.toFixed(0).padStart(10)} ${result.peakRssMb.toFixed(0).padStart(12)}`);
      }
    }
    process.stdout.write(`${'step'.padEnd(30)} ${'file MB'.padStart(10)} ${'time ms'.padStart(10)} ${'peak RSS MB'.padStart(12)}\n${rows.join('\n')}\n`);
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
}
