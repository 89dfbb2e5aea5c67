/**
 * The Electron shell's security policy as plain functions and data, so tests can check it without Electron:
 * window preferences, what the window may navigate to, which links open outside, the thumbnail protocol's
 * accepted URLs, and the IPC sender check.
 */
import { pathToFileURL } from 'node:url';
import { CONTENT_SECURITY_POLICY } from '../bridge/server';

/** BrowserWindow web preferences: an isolated, sandboxed renderer with no Node.js. */
export function secureWebPreferences(preloadPath: string) {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
  } as const;
}

/** The window's Content-Security-Policy: the bridge's, plus the `specimen:` thumbnail scheme for images. */
export const ELECTRON_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("img-src 'self'", "img-src 'self' specimen:");

/** True when a frame URL is the app's own renderer page (IPC from anything else is refused). */
export function isOwnRenderer(url: string | undefined, rendererIndex: string): boolean {
  if (!url) return false;
  const own = pathToFileURL(rendererIndex);
  try {
    const given = new URL(url);
    return given.protocol === 'file:' && given.pathname === own.pathname;
  } catch {
    return false;
  }
}

/** Links the app hands to the system browser: https only. Everything else is blocked. */
export function isSafeExternalUrl(url: string): boolean {
  try {
    return new URL(url).protocol === 'https:';
  } catch {
    return false;
  }
}

/** The image id of a thumbnail request `specimen://thumbnails/<id>`, or null for anything else. */
export function thumbnailRequestId(url: string): number | null {
  const match = /^specimen:\/\/thumbnails\/(\d{1,12})$/.exec(url);
  return match ? Number(match[1]) : null;
}

/** The image id of a full-size view request `specimen://images/<id>`, or null for anything else. */
export function imageRequestId(url: string): number | null {
  const match = /^specimen:\/\/images\/(\d{1,12})$/.exec(url);
  return match ? Number(match[1]) : null;
}
