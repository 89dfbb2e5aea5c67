import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The layering rule of docs/ARCHITECTURE.md, checked on every import in the source tree.
const root = path.resolve(__dirname, '..');

function sourceFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const full = path.join(folder, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|svelte)$/.test(name) ? [full] : [];
  });
}

function imports(file: string): { specifier: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*import\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|import\(['"]([^'"]+)['"]\)/gm)].map((match) => ({
    specifier: match[2] ?? match[3]!,
    typeOnly: Boolean(match[1]),
  }));
}

const relative = (file: string) => path.relative(root, file).split(path.sep).join('/');

describe('architecture', () => {
  const mainFiles = sourceFiles(path.join(root, 'src-main'));

  it('imports electron only in src-main/app and src-main/preload', () => {
    const offenders = mainFiles
      .filter((file) => !/^src-main\/(app|preload)\//.test(relative(file)))
      .filter((file) => imports(file).some(({ specifier }) => specifier === 'electron' || specifier.startsWith('electron/')));
    expect(offenders.map(relative)).toEqual([]);
  });

  it('keeps core free of the database, services, the shell, the bridge and the command line', () => {
    const offenders = mainFiles
      .filter((file) => relative(file).startsWith('src-main/core/'))
      .flatMap((file) =>
        imports(file)
          .filter(({ specifier }) => /\/(db|services|app|bridge|cli|preload)\//.test(`${specifier}/`) || specifier === 'better-sqlite3')
          .map(({ specifier }) => `${relative(file)} -> ${specifier}`),
      );
    expect(offenders).toEqual([]);
  });

  it('lets the renderer import only types from src-main, and only from the contract', () => {
    const offenders = sourceFiles(path.join(root, 'src-renderer', 'src')).flatMap((file) =>
      imports(file)
        .filter(({ specifier }) => specifier.includes('src-main/'))
        .filter(({ specifier, typeOnly }) => !typeOnly || !specifier.includes('src-main/contract/'))
        .map(({ specifier }) => `${relative(file)} -> ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });
});
