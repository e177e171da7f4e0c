import { synodVitestConfig } from '../../vitest.shared.mjs';

const base = synodVitestConfig();

// The cluster tests each run three `synod serve` processes with fsync; one
// file at a time keeps them from starving each other on a 2-core machine.
export default { ...base, test: { ...base.test, fileParallelism: false } };
