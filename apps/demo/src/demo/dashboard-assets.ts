import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SynodError } from '@synod/core';

/** The dashboard's script and styles were not bundled (the build was skipped). */
export class DashboardNotBuiltError extends SynodError {
  readonly code = 'DASHBOARD_NOT_BUILT';
  constructor(searched: readonly string[]) {
    super(`the dashboard bundle is missing (looked in ${searched.join(', ')}); build it with: pnpm nx run @synod/demo:build`);
  }
}

export interface DashboardAssets {
  readonly script: string;
  readonly styles: string;
}

/**
 * The page's script and styles, bundled at build time by
 * `scripts/bundle-dashboard.mjs` into dist/dashboard. Running from the
 * built package, that folder sits next to this module's folder; running
 * from source (tests), it is in the package's dist.
 *
 * @throws DashboardNotBuiltError when neither place has them
 */
export function loadDashboardAssets(): DashboardAssets {
  const candidates = [new URL('../dashboard/', import.meta.url), new URL('../../dist/dashboard/', import.meta.url)].map((url) =>
    fileURLToPath(url),
  );
  for (const dir of candidates) {
    if (existsSync(`${dir}app.js`) && existsSync(`${dir}app.css`)) {
      return { script: readFileSync(`${dir}app.js`, 'utf8'), styles: readFileSync(`${dir}app.css`, 'utf8') };
    }
  }
  throw new DashboardNotBuiltError(candidates);
}
