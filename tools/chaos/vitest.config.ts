import { synodVitestConfig } from '../../vitest.shared.mjs';

// The CI schedule runs for about three minutes, plus start-up and the checks.
export default synodVitestConfig({ testTimeoutMs: 6 * 60_000 });
