import { parentPort } from 'node:worker_threads';
import { runCheckJob, type CheckJob } from './window-check.js';

// The worker thread behind WindowChecker: one job per message, answered in order.
parentPort?.on('message', (job: CheckJob) => parentPort?.postMessage(runCheckJob(job)));
