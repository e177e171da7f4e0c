import { parentPort } from 'node:worker_threads';
import { checkWindow, type WindowCheckRequest } from './window-check.js';

// The worker thread behind WindowChecker: one check per message, answered in order.
parentPort?.on('message', (request: WindowCheckRequest) => parentPort?.postMessage(checkWindow(request)));
