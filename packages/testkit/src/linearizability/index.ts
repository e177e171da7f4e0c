/**
 * A Porcupine-style linearizability checker: sequential models
 * ({@link Model}), the Wing–Gong search with Lowe's memoization, and
 * per-partition results for reports.
 *
 * @packageDocumentation
 */
export * from './model.js';
export * from './bitset.js';
export * from './cache.js';
export * from './checker.js';
export * from './memory-budget.js';
export * from './kv-model.js';
export * from './register-model.js';
export * from './counter-model.js';
export * from './undecided.js';
