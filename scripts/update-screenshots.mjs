// `npm run screenshots`: copies the views the end-to-end tests photographed (test-output/e2e/, written by
// `npm run test:e2e`) into docs/screenshots/ for the README, as palette PNGs about a third of the size.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** README name: the test's screenshot. */
const VIEWS = {
  'library.png': 'library.png',
  'label.png': 'label.png',
  'viewer.png': 'viewer.png',
  'clusters.png': 'review-clusters.png',
  'clusters-edited.png': 'clusters-edited.png',
  'train.png': 'review-train.png',
  'map.png': 'map.png',
  'evaluate.png': 'evaluate.png',
  'models.png': 'models.png',
};

const from = path.join('test-output', 'e2e');
const to = path.join('docs', 'screenshots');
mkdirSync(to, { recursive: true });
const missing = Object.values(VIEWS).filter((name) => !existsSync(path.join(from, name)));
if (missing.length > 0) {
  console.error(`Missing ${missing.join(', ')} in ${from}: run \`npm run build && npm run test:e2e\` first.`);
  process.exit(1);
}
for (const [target, source] of Object.entries(VIEWS)) {
  const info = await sharp(path.join(from, source)).png({ palette: true, quality: 90, effort: 8 }).toFile(path.join(to, target));
  console.log(`${target}: ${(info.size / 1024).toFixed(0)} KB`);
}
