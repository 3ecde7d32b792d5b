/**
 * Locating the shared sample corpus (`../shared/samples` next to the repo).
 *
 * The repo root is found by walking up from this compiled file
 * (`dist/test/support/samples.js`) to the first folder holding a package.json, so the
 * helpers work no matter what the current working directory is.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRepoRoot: string | undefined;

/** Folder of the nearest package.json above this file (the wmiscope repo root). */
export function repoRoot(): string {
  if (cachedRepoRoot !== undefined) return cachedRepoRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) {
      cachedRepoRoot = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** `<repoRoot>/../shared/samples` (may not exist on a dev machine). */
export function samplesDir(): string {
  return path.resolve(repoRoot(), '../shared/samples');
}

/** `<samplesDir>/evtx`. */
export function evtxSamplesDir(): string {
  return path.join(samplesDir(), 'evtx');
}

/** True when the shared EVTX samples are present. */
export function hasSamples(): boolean {
  try {
    return statSync(evtxSamplesDir()).isDirectory();
  } catch {
    return false;
  }
}

/** Absolute path of a sample given relative to `samples/evtx/`, e.g. `evtx/sysmon.evtx`. */
export function evtxSample(relative: string): string {
  return path.join(evtxSamplesDir(), relative);
}

/**
 * Every `*.evtx` under samples/evtx except the `bench/` folder (30 MB synthetic file),
 * as absolute paths, sorted. Empty when the samples are absent.
 */
export function listEvtxSamples(): string[] {
  if (!hasSamples()) return [];
  const root = evtxSamplesDir();
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (dir === root && entry.name === 'bench') continue;
        walk(full);
      } else if (entry.isFile() && entry.name.toLowerCase().endsWith('.evtx')) {
        out.push(full);
      }
    }
  };
  walk(root);
  return out.sort();
}

/** Path relative to samples/evtx, with forward slashes (for test names and messages). */
export function sampleLabel(absPath: string): string {
  return path.relative(evtxSamplesDir(), absPath).split(path.sep).join('/');
}

/**
 * Use as `test(name, { skip: skipReason }, fn)`: `false` when samples are present,
 * otherwise a message saying where they were looked for.
 */
export const skipReason: string | false = hasSamples()
  ? false
  : `EVTX samples not found at ${evtxSamplesDir()} (expected ../shared/samples next to the repo)`;
