import { synodVitestConfig } from '../../vitest.shared.mjs';

export default synodVitestConfig();
