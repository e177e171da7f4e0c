/**
 * The logging contract of every Synod component that can log. It is the
 * subset of pino's API that Synod uses, so a pino logger (or a child of one)
 * can be passed as it is; anything else can be adapted in a few lines.
 *
 * Libraries log nothing unless given a logger: the default everywhere is
 * {@link silentLogger}.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * const transport = new GrpcTransport({ ..., logger: pino().child({ node: 'n1' }) });
 * ```
 */
export interface Logger {
  /** Detail useful only when debugging. */
  debug(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** Normal events worth a line: a peer connected, a leader elected. */
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** Something was refused or lost but the component carries on. */
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
  /** The component failed at something it was asked to do. */
  error(fields: Readonly<Record<string, unknown>>, message: string): void;
}

const ignore = (): void => undefined;

/** A logger that drops everything: the default of every Synod component. */
export const silentLogger: Logger = Object.freeze({ debug: ignore, info: ignore, warn: ignore, error: ignore });
