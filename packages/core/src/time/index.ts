export * from './clock.js';
export * from './virtual-clock.js';
export * from './random.js';
