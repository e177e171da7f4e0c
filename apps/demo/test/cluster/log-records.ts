/** One JSON log record of `synod serve` (pino): `msg` plus the fields the call passed. */
export type LogRecord = { readonly msg: string; readonly node?: string; readonly time?: string } & Readonly<Record<string, unknown>>;

/** The JSON records in a serve process's output (other lines, such as a child's plain stderr, are skipped). */
export function logRecords(output: string): LogRecord[] {
  const records: LogRecord[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{') || !line.endsWith('}')) continue;
    const record = JSON.parse(line) as Partial<LogRecord>;
    if (typeof record.msg === 'string') records.push(record as LogRecord);
  }
  return records;
}

/** The records whose message is `swim: <member> is <state>` (`member` and `state` are regular expressions). */
export function swimStateRecords(output: string, member: string, state: string): LogRecord[] {
  const pattern = new RegExp(`^swim: ${member} is ${state}$`);
  return logRecords(output).filter((record) => pattern.test(record.msg));
}

/** The highest `compactedTo` of the `snapshot taken` records in `output`, 0 when there is none. */
export function highestCompaction(output: string): number {
  const compactions = logRecords(output)
    .filter((record) => record.msg === 'snapshot taken')
    .map((record) => record['compactedTo'] as number);
  return Math.max(0, ...compactions);
}
