// `node scripts/make-bad-inputs.mjs <folder>`: writes a corpus of awkward import inputs, all made by code
// (no checked-in binaries), and `<folder>/manifest.json` saying what importing the folder should do with each.
//
// The folder must be missing or empty. Some entries are made unreadable (chmod 000): to delete the corpus as
// a non-root user afterwards, run `chmod -R u+rwX <folder>` first. Root reads unreadable files anyway, so
// those entries carry `expectedAsRoot`. The 20,000 x 20,000 JPEG takes about 5 s on one core.
//
// manifest.json: { folder, entries: [{ path, description, expected, reason?, expectedAsRoot?, width?, height?,
// sameContentAs?, mode? }] } where `path` is relative to the folder with `/` separators (as Node decodes the
// name), `expected` is `imported`, `failed` (then `reason` is a case-insensitive regular expression the
// reported reason must match) or `skipped` (no image row at all), and `mode` is a permission set on purpose.
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';

const folder = process.argv[2];
if (!folder) {
  process.stderr.write('Usage: node scripts/make-bad-inputs.mjs <folder>\n');
  process.exit(2);
}
const root = path.resolve(folder);
if (existsSync(root) && readdirSync(root).length > 0) {
  process.stderr.write(`${root} is not empty: choose a new folder, so no existing file is overwritten.\n`);
  process.exit(2);
}
mkdirSync(root, { recursive: true });

/** Side of the very large image, in pixels. */
const HUGE_SIDE = 20_000;
const started = performance.now();
const entries = [];
const at = (relative) => path.join(root, ...relative.split('/'));
const add = (entry) => entries.push(entry);

/** Raw RGB pixels, a pattern that depends on `seed`, so each generated image has its own content hash. */
function pattern(width, height, seed) {
  const pixels = Buffer.alloc(width * height * 3);
  for (let index = 0; index < width * height; index++) {
    const x = index % width;
    const y = Math.floor(index / width);
    pixels[index * 3] = (seed * 53 + x * 3) % 256;
    pixels[index * 3 + 1] = (seed * 97 + y * 5) % 256;
    pixels[index * 3 + 2] = (seed * 31 + (x ^ y)) % 256;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

/** Noise compresses badly, so a cut-off JPEG of it loses most of its scan data rather than only padding. */
function noise(width, height) {
  const pixels = Buffer.alloc(width * height * 3);
  let state = 12345;
  for (let index = 0; index < pixels.length; index++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    pixels[index] = state >>> 24;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

// Started first and awaited last: it is the slow one. optimiseCoding off keeps libjpeg from buffering every
// coefficient of the image (2.4 GB) for a second Huffman pass; `create:` input is generated lazily in strips.
const hugeName = `huge ${HUGE_SIDE}x${HUGE_SIDE}.jpg`;
const hugeStarted = performance.now();
const huge = sharp({ create: { width: HUGE_SIDE, height: HUGE_SIDE, channels: 3, background: '#786450' }, limitInputPixels: false })
  .jpeg({ quality: 60, optimiseCoding: false })
  .toFile(at(hugeName))
  .then(() => performance.now() - hugeStarted);
add({
  path: hugeName,
  description: `a ${HUGE_SIDE} x ${HUGE_SIDE} JPEG (400 megapixels, 1.2 GB as raw RGB); imported with a thumbnail made by shrink-on-load`,
  expected: 'imported',
  width: HUGE_SIDE,
  height: HUGE_SIDE,
});

await pattern(96, 64, 1).jpeg().toFile(at('good.jpg'));
add({ path: 'good.jpg', description: 'an ordinary 96 x 64 JPEG', expected: 'imported', width: 96, height: 64 });

const wholeJpeg = await noise(1200, 800).jpeg({ quality: 90 }).toBuffer();
writeFileSync(at('truncated.jpg'), wholeJpeg.subarray(0, Math.floor(wholeJpeg.length * 0.6)));
add({ path: 'truncated.jpg', description: 'the first 60% of a 1200 x 800 JPEG', expected: 'failed', reason: 'truncated' });

writeFileSync(at('empty.jpg'), '');
add({ path: 'empty.jpg', description: 'a zero-byte file named .jpg', expected: 'failed', reason: 'empty \\(0 bytes\\)' });

writeFileSync(at('notes.jpg'), 'Collected 12 June, light trap, Rothamsted.\nThis is a text file renamed to .jpg.\n');
add({ path: 'notes.jpg', description: 'a text file renamed .jpg', expected: 'failed', reason: 'not an image file.*text' });

const alpha = Buffer.alloc(96 * 64 * 4);
for (let index = 0; index < 96 * 64; index++) alpha.set([200, (index * 7) % 256, 40, (index % 96) * 2], index * 4);
await sharp(alpha, { raw: { width: 96, height: 64, channels: 4 } }).png().toFile(at('alpha.png'));
add({ path: 'alpha.png', description: 'an RGBA PNG with a transparency gradient', expected: 'imported', width: 96, height: 64 });

await pattern(96, 64, 2).toColourspace('rgb16').png().toFile(at('sixteen-bit.png'));
add({ path: 'sixteen-bit.png', description: 'a 16-bit-per-channel RGB PNG', expected: 'imported', width: 96, height: 64 });

await pattern(96, 64, 3).toColourspace('cmyk').jpeg().toFile(at('cmyk.jpg'));
add({ path: 'cmyk.jpg', description: 'a CMYK JPEG (as printers save them)', expected: 'imported', width: 96, height: 64 });

await pattern(96, 64, 4).tiff({ compression: 'lzw' }).toFile(at('scan.tif'));
add({ path: 'scan.tif', description: 'an LZW-compressed TIFF', expected: 'imported', width: 96, height: 64 });

await pattern(96, 64, 5).webp().toFile(at('photo.webp'));
add({ path: 'photo.webp', description: 'a lossy WebP', expected: 'imported', width: 96, height: 64 });

// Stored 96 x 64; orientation 6 means "rotate 90 degrees clockwise to view", so it is shown 64 x 96.
await pattern(96, 64, 6).withMetadata({ orientation: 6 }).jpeg().toFile(at('orientation 6.jpg'));
add({ path: 'orientation 6.jpg', description: '96 x 64 pixels stored, EXIF orientation 6 (viewed 64 x 96)', expected: 'imported', width: 64, height: 96 });
await pattern(96, 64, 7).withMetadata({ orientation: 3 }).jpeg().toFile(at('orientation 3.jpg'));
add({ path: 'orientation 3.jpg', description: '96 x 64 pixels stored, EXIF orientation 3 (upside down)', expected: 'imported', width: 96, height: 64 });

for (const [name, seed] of [['Ennomos alniaria — été 01.jpg', 8], ['  spaces  .jpg', 9], ['蛾 ガ 01.jpg', 10]]) {
  await pattern(96, 64, seed).jpeg().toFile(at(name));
  add({ path: name, description: 'a JPEG whose name has non-ASCII letters, a dash or spaces', expected: 'imported', width: 96, height: 64 });
}

symlinkSync('good.jpg', at('link to good.jpg'));
add({ path: 'link to good.jpg', description: 'a symbolic link to good.jpg', expected: 'imported', sameContentAs: 'good.jpg' });

mkdirSync(at('loop'));
await pattern(96, 64, 11).jpeg().toFile(at('loop/inside loop.jpg'));
symlinkSync('..', at('loop/parent'), 'dir');
add({ path: 'loop/inside loop.jpg', description: 'a JPEG beside a link loop', expected: 'imported' });
add({ path: 'loop/parent', description: 'a folder link to its own parent (a loop); each real folder is walked once', expected: 'skipped' });
add({ path: 'loop/parent/good.jpg', description: 'good.jpg again, through the loop', expected: 'skipped' });

symlinkSync('self loop.jpg', at('self loop.jpg'));
add({ path: 'self loop.jpg', description: 'a symbolic link to itself', expected: 'failed', reason: 'symbolic link loop' });

symlinkSync('missing target.jpg', at('broken link.jpg'));
add({ path: 'broken link.jpg', description: 'a symbolic link to a file that does not exist', expected: 'failed', reason: 'broken symbolic link.*missing target\\.jpg' });
symlinkSync('missing.txt', at('broken link.txt'));
add({ path: 'broken link.txt', description: 'a broken link whose name is not an image name', expected: 'skipped' });

const duplicate = await pattern(96, 64, 12).jpeg().toBuffer();
writeFileSync(at('duplicate a.jpg'), duplicate);
writeFileSync(at('duplicate b.jpg'), duplicate);
add({ path: 'duplicate a.jpg', description: 'a JPEG', expected: 'imported' });
add({ path: 'duplicate b.jpg', description: 'the same bytes as duplicate a.jpg under another name', expected: 'imported', sameContentAs: 'duplicate a.jpg' });

// A valid PNG header claiming 40,000 x 40,000 pixels (a decompression bomb, as far as the header goes):
// refused from the header alone, before any pixel is decoded.
const smallPng = Buffer.from(await pattern(8, 8, 13).png().toBuffer());
smallPng.writeUInt32BE(40_000, 16);
smallPng.writeUInt32BE(40_000, 20);
smallPng.writeUInt32BE(crc32(smallPng.subarray(12, 29)), 29);
writeFileSync(at('too many pixels 40000x40000.png'), smallPng);
add({ path: 'too many pixels 40000x40000.png', description: 'a PNG whose header says 40,000 x 40,000 pixels', expected: 'failed', reason: 'too large.*40000 x 40000' });

// Sparse: takes no disk space where the file system supports it (ext4, APFS, tmpfs, NTFS).
writeFileSync(at('sparse 3 GiB.jpg'), '');
truncateSync(at('sparse 3 GiB.jpg'), 3 * 1024 ** 3);
add({ path: 'sparse 3 GiB.jpg', description: 'a 3 GiB file of zeros (sparse)', expected: 'failed', reason: 'larger than 2 GiB' });

await pattern(96, 64, 14).jpeg().toFile(at('.hidden.jpg'));
add({ path: '.hidden.jpg', description: 'a hidden file', expected: 'skipped' });
mkdirSync(at('_meta'));
await pattern(96, 64, 15).jpeg().toFile(at('_meta/skipped.jpg'));
add({ path: '_meta/skipped.jpg', description: 'a JPEG in a folder starting with _ (dataset metadata)', expected: 'skipped' });

// A name in Latin-1 (bytes E9 for é), as old cameras and Windows tools wrote them: not valid UTF-8, so Node
// cannot name the file with a string. Some file systems (APFS) refuse such names; then the entry is left out.
const latin1Name = Buffer.concat([Buffer.from('latin1 '), Buffer.from([0xe9]), Buffer.from('t'), Buffer.from([0xe9]), Buffer.from('.jpg')]);
try {
  writeFileSync(Buffer.concat([Buffer.from(`${root}${path.sep}`), latin1Name]), await pattern(96, 64, 16).jpeg().toBuffer());
  add({ path: latin1Name.toString('utf8'), description: 'a file name in Latin-1, not valid UTF-8', expected: 'failed', reason: 'not valid UTF-8' });
} catch (error) {
  process.stderr.write(`Skipped the Latin-1 file name: ${error.message}\n`);
}

await pattern(96, 64, 17).jpeg().toFile(at('unreadable.jpg'));
chmodSync(at('unreadable.jpg'), 0o000);
add({
  path: 'unreadable.jpg',
  description: 'a JPEG with mode 000 (root reads it anyway)',
  expected: 'failed',
  reason: 'permission denied',
  expectedAsRoot: 'imported',
  mode: 0o000,
});

mkdirSync(at('locked folder'));
await pattern(96, 64, 18).jpeg().toFile(at('locked folder/inside locked.jpg'));
chmodSync(at('locked folder'), 0o000);
add({
  path: 'locked folder',
  description: 'a folder with mode 000, so its list of files cannot be read (root reads it anyway)',
  expected: 'failed',
  reason: 'permission denied.*folder',
  expectedAsRoot: 'skipped',
  mode: 0o000,
});
add({ path: 'locked folder/inside locked.jpg', description: 'a JPEG inside the locked folder', expected: 'skipped', expectedAsRoot: 'imported' });

const hugeMs = await huge;
writeFileSync(at('manifest.json'), `${JSON.stringify({ folder: root, entries }, null, 2)}\n`);
process.stdout.write(
  `Wrote ${entries.length} entries and manifest.json to ${root} in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
    `(${hugeName}: ${(hugeMs / 1000).toFixed(1)} s, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB).\n`,
);
