import type * as grpc from '@grpc/grpc-js';

/** Marks a request whose bytes did not decode; the handler answers INVALID_ARGUMENT. */
export const MALFORMED = Symbol('malformed request');

/** A request that did not decode, with the decoder's reason. */
export interface MalformedRequest {
  readonly [MALFORMED]: string;
}

export function isMalformed(request: unknown): request is MalformedRequest {
  return typeof request === 'object' && request !== null && MALFORMED in request;
}

/**
 * The generated service definition with request decoders that never throw.
 * grpc-js answers a request its decoder throws on with INTERNAL ("Error
 * deserializing request"), which reads as a server bug; a decoder that hands
 * the handler a {@link MalformedRequest} instead lets it answer
 * INVALID_ARGUMENT with the reason.
 */
export function tolerantService<S extends grpc.ServiceDefinition>(service: S): S {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    const decode = method.requestDeserialize;
    wrapped[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return decode(bytes);
        } catch (error) {
          return { [MALFORMED]: error instanceof Error ? error.message : String(error) } satisfies MalformedRequest;
        }
      },
    };
  }
  return wrapped as S;
}
