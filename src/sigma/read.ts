/**
 * Reading Sigma rule files from files and folders (recursive), bounded: files over MAX_RULE_FILE bytes, folders
 * deeper than MAX_DEPTH and rule files past MAX_RULE_FILES are reported as errors, never read. A folder is walked
 * for `*.yml` / `*.yaml`; a file named directly is read whatever its extension. Order: sorted by path.
 */
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

export const MAX_RULE_FILE = 1 << 20;
export const MAX_RULE_FILES = 20_000;
const MAX_DEPTH = 32;

export interface SigmaReadResult {
  sources: Array<{ file: string; text: string }>;
  errors: Array<{ file: string; why: string }>;
}

const why = (e: unknown): string => (e instanceof Error && 'code' in e ? String((e as { code: unknown }).code) : e instanceof Error ? e.message : String(e));

export function readSigmaSources(paths: readonly string[]): SigmaReadResult {
  const files: string[] = [];
  const errors: SigmaReadResult['errors'] = [];
  let capped = false;
  const add = (f: string): void => {
    if (files.length >= MAX_RULE_FILES) {
      if (!capped) errors.push({ file: f, why: `more than ${MAX_RULE_FILES} rule files; the rest are not read` });
      capped = true;
      return;
    }
    files.push(f);
  };
  const walk = (dir: string, depth: number): void => {
    if (depth > MAX_DEPTH) {
      errors.push({ file: dir, why: `folder nested deeper than ${MAX_DEPTH}` });
      return;
    }
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      errors.push({ file: dir, why: `cannot list: ${why(e)}` });
      return;
    }
    for (const name of names) {
      const p = join(dir, name);
      let st;
      try {
        st = lstatSync(p);
      } catch (e) {
        errors.push({ file: p, why: `cannot read: ${why(e)}` });
        continue;
      }
      if (st.isDirectory()) walk(p, depth + 1); // symbolic links to folders are not followed (no loops)
      else if ((st.isFile() || st.isSymbolicLink()) && /^\.ya?ml$/i.test(extname(name))) add(p);
    }
  };
  for (const p of paths) {
    try {
      if (statSync(p).isDirectory()) walk(p, 0);
      else add(p);
    } catch (e) {
      errors.push({ file: p, why: `cannot read: ${why(e)}` });
    }
  }
  const sorted = [...new Set(files)].sort();
  const sources: SigmaReadResult['sources'] = [];
  for (const file of sorted) {
    try {
      const st = statSync(file);
      if (!st.isFile()) {
        errors.push({ file, why: 'not a regular file' });
        continue;
      }
      if (st.size > MAX_RULE_FILE) {
        errors.push({ file, why: `larger than ${MAX_RULE_FILE} bytes` });
        continue;
      }
      let text = readFileSync(file, 'utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      sources.push({ file, text });
    } catch (e) {
      errors.push({ file, why: `cannot read: ${why(e)}` });
    }
  }
  return { sources, errors };
}
