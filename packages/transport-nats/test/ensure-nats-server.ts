import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findNatsServer, NATS_SERVER_INSTALL_HINT } from '../src/nats-server.js';

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
    throw new Error(`${NATS_SERVER_INSTALL_HINT}; tools/scripts/ensure-system-deps.sh installs it when run as root`);
  }
  if (findNatsServer() === undefined) throw new Error(`${NATS_SERVER_INSTALL_HINT}; tools/scripts/ensure-system-deps.sh installs it when run as root`);
}
