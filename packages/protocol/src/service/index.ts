export * from './errors.js';
export * from './rpc-status.js';
export * from './kv-node.js';
export * from './kv-handlers.js';
export * from './cluster-handlers.js';
export * from './kv-replica.js';
export * from './client-api.js';
