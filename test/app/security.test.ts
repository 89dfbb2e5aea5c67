import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ELECTRON_CONTENT_SECURITY_POLICY,
  isOwnRenderer,
  isSafeExternalUrl,
  secureWebPreferences,
  thumbnailRequestId,
} from '../../src-main/app/security';

const rendererIndex = path.resolve('/opt/specimen-sorter/resources/app.asar/out/renderer/index.html');

describe('Electron security policy', () => {
  it('isolates and sandboxes the renderer, with no Node.js anywhere', () => {
    expect(secureWebPreferences('/app/preload.cjs')).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('has a strict Content-Security-Policy: scripts only from the app, no objects, no framing', () => {
    const directives = new Map(ELECTRON_CONTENT_SECURITY_POLICY.split(';').map((part) => {
      const [name, ...values] = part.trim().split(/\s+/);
      return [name!, values] as const;
    }));
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('img-src')).toContain('specimen:');
    expect(ELECTRON_CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval/);
  });

  it('answers IPC only from its own renderer page', () => {
    expect(isOwnRenderer(`file://${rendererIndex}`, rendererIndex)).toBe(true);
    expect(isOwnRenderer(`file://${rendererIndex}#clusters`, rendererIndex)).toBe(true);
    expect(isOwnRenderer('https://example.org/', rendererIndex)).toBe(false);
    expect(isOwnRenderer('file:///tmp/evil.html', rendererIndex)).toBe(false);
    expect(isOwnRenderer(undefined, rendererIndex)).toBe(false);
    expect(isOwnRenderer('not a url', rendererIndex)).toBe(false);
  });

  it('opens only https links outside and serves thumbnails only by numeric id', () => {
    expect(isSafeExternalUrl('https://www.gbif.org/')).toBe(true);
    expect(isSafeExternalUrl('http://example.org/')).toBe(false);
    expect(isSafeExternalUrl('file:///etc/passwd')).toBe(false);
    expect(isSafeExternalUrl('javascript:alert(1)')).toBe(false);
    expect(thumbnailRequestId('specimen://thumbnails/42')).toBe(42);
    expect(thumbnailRequestId('specimen://thumbnails/../../etc/passwd')).toBeNull();
    expect(thumbnailRequestId('specimen://thumbnails/42/../1')).toBeNull();
    expect(thumbnailRequestId('specimen://files/etc/passwd')).toBeNull();
  });
});
