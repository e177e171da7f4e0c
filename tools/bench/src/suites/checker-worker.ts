/**
 * Child-process entry of the `checker` suite: one {@link measureCheck}. A
 * process per history keeps its peak resident set its own, and its JIT state
 * free of the histories checked before.
 */
import { answerParent } from '../child.js';
import { measureCheck } from './checker-workload.js';

answerParent('checker-worker', measureCheck);
