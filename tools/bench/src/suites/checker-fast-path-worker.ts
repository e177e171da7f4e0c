/**
 * Child-process entry of the `checker` suite's `fast-path` scenario: one
 * {@link measureFastPath}, the fast path on and off side by side.
 */
import { answerParent } from '../child.js';
import { measureFastPath } from './checker-workload.js';

answerParent('checker-fast-path-worker', measureFastPath);
