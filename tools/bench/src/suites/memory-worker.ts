/**
 * Child-process entry of the storage suite's memory scenario: runs one
 * {@link runMemoryWorkload}. A process of its own keeps the resident set the
 * nodes' alone (no harness, no earlier scenarios), and the parent starts it
 * with --expose-gc for the after-collection figures.
 */
import { answerParent } from '../child.js';
import { runMemoryWorkload } from './memory-workload.js';

answerParent('memory-worker', runMemoryWorkload);
