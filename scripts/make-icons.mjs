// Renders build/icon.svg to the PNG icons electron-builder uses (512 px; it derives the other sizes).
import sharp from 'sharp';

await sharp('build/icon.svg', { density: 300 }).resize(512, 512).png().toFile('build/icon.png');
console.log('Wrote build/icon.png');
