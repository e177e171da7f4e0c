import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNatsServer, NATS_SERVER_INSTALL_HINT } from '../src/nats-server.js';

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * vitest global setup: these tests run against a real nats-server (and the
 * TLS test makes certificates with openssl). When either is missing,
 * tools/scripts/ensure-system-deps.sh installs it (as root, from Debian's
 * packages) or says what to install; the run then fails rather than
 * skipping, so CI cannot pass without having run them.
 */
export default function ensureSystemDependencies(): void {
  if (findNatsServer() !== undefined && onPath('openssl')) return;
  const script = fileURLToPath(new URL('../../../tools/scripts/ensure-system-deps.sh', import.meta.url));
  const hint = `${NATS_SERVER_INSTALL_HINT}; tools/scripts/ensure-system-deps.sh installs it (and openssl) when run as root`;
  try {
    execFileSync('bash', [script], { stdio: 'inherit' });
  } catch {
    throw new Error(hint);
  }
  if (findNatsServer() === undefined || !onPath('openssl')) throw new Error(hint);
}
