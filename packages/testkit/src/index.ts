export * from './compliance/index.js';
