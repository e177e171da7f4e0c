import { mergeConfig } from 'vitest/config';
import { synodVitestConfig } from '../../vitest.shared.mjs';

// Every test file starts its own nats-server; the global setup makes sure there is one to start.
export default mergeConfig(synodVitestConfig(), { test: { globalSetup: ['test/ensure-nats-server.ts'] } });
