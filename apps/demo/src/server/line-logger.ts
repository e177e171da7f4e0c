import type { Logger } from '@synod/core';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

export function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

function fieldText(fields: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(fields).map(([key, value]) => {
    const shown = value instanceof Error ? value.message : typeof value === 'string' ? value : JSON.stringify(value);
    return `${key}=${shown}`;
  });
  return entries.length === 0 ? '' : ` ${entries.join(' ')}`;
}

/** One line per record on `write` (stderr for `synod serve`): time, level, message, fields. */
export function lineLogger(write: (line: string) => void, minimum: LogLevel, prefix: string): Logger {
  const rank = LEVELS.indexOf(minimum);
  const at =
    (level: LogLevel) =>
    (fields: Readonly<Record<string, unknown>>, message: string): void => {
      if (LEVELS.indexOf(level) < rank) return;
      write(`${new Date().toISOString()} ${level.toUpperCase()} ${prefix}: ${message}${fieldText(fields)}`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
