export * from './conf-change.js';
export * from './conf-change-errors.js';
export * from './conf-change-codec.js';
export * from './changer.js';
