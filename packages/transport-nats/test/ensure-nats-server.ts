import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findNatsServer, INSTALL_HINT } from './nats-server.js';

/**
 * vitest global setup: these tests run against a real nats-server. When it
 * is missing, tools/scripts/ensure-system-deps.sh installs it (as root, from
 * Debian's packages) or says what to install; the run then fails rather than
 * skipping, so CI cannot pass without having run them.
 */
export default function ensureNatsServer(): void {
  if (findNatsServer() !== undefined) return;
  const script = fileURLToPath(new URL('../../../tools/scripts/ensure-system-deps.sh', import.meta.url));
  try {
    execFileSync('bash', [script], { stdio: 'inherit' });
  } catch {
    throw new Error(INSTALL_HINT);
  }
  if (findNatsServer() === undefined) throw new Error(INSTALL_HINT);
}
