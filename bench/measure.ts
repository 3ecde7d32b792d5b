/**
 * Whole-process measurement for the benches: wall time, peak RSS (of the child, via Python's getrusage) and
 * exit code of one command, its output discarded.
 */
import { execFileSync } from 'node:child_process';

const WRAPPER = `
import resource, subprocess, sys, time, json
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.perf_counter() - t
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": u.ru_utime + u.ru_stime, "maxrss_kb": u.ru_maxrss, "rc": p.returncode}))
`;

export interface Measure {
  wall: number;
  /** User + system CPU seconds of the child (steadier than wall time on a shared machine). */
  cpu: number;
  maxrss_kb: number;
  rc: number;
}

export function measure(cmd: string[]): Measure {
  return JSON.parse(execFileSync('python3', ['-c', WRAPPER, ...cmd], { encoding: 'utf8' })) as Measure;
}

/** True when `cmd` is on PATH. */
export function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
