/**
 * `@synod/transport-grpc`: not implemented yet; see README.md. This module exports nothing so
 * that the package builds and can be released on its own.
 *
 * @packageDocumentation
 */
export {};
