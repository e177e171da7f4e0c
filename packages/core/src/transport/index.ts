export * from './transport.js';
export * from './send-queue.js';
export * from './outgoing-envelope.js';
