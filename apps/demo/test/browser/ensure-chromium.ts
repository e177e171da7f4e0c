import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const INSTALL_HINT =
  "the browser test needs Debian's chromium: install it with 'sudo apt-get install -y chromium' (tools/scripts/ensure-system-deps.sh does it when run as root)";

/** Debian's chromium (or Ubuntu's chromium-browser) on PATH, if any. */
export function findChromium(): string | undefined {
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      const candidate = join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * Returns the chromium to drive. When it is missing, runs
 * tools/scripts/ensure-system-deps.sh, which installs the packages listed in
 * system-deps.txt as root and otherwise says what to install; the test then
 * fails with that advice rather than skipping, so CI cannot pass without it.
 */
export function ensureChromium(): string {
  const found = findChromium();
  if (found !== undefined) return found;
  const script = fileURLToPath(new URL('../../../../tools/scripts/ensure-system-deps.sh', import.meta.url));
  const run = spawnSync('bash', [script], { stdio: 'inherit' });
  const installed = findChromium();
  if (run.status !== 0 || installed === undefined) throw new Error(INSTALL_HINT);
  return installed;
}
