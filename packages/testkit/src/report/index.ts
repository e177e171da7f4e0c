/**
 * Human-readable output for linearizability results: a self-contained HTML
 * report with per-key timelines.
 *
 * @packageDocumentation
 */
export * from './html-report.js';
