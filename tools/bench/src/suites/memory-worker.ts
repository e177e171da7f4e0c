/**
 * Child-process entry of the storage suite's memory scenario: runs one
 * {@link runMemoryWorkload} with the configuration given as JSON in argv[2]
 * and sends the report to the parent over IPC. A process of its own keeps
 * the resident set the nodes' alone (no harness, no earlier scenarios), and
 * the parent starts it with --expose-gc for the after-collection figures.
 */
import { runMemoryWorkload, type MemoryWorkloadConfig } from './memory-workload.js';

async function main(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('memory-worker must be started by the bench CLI (child_process.fork)');
  const config = JSON.parse(process.argv[2] ?? '') as MemoryWorkloadConfig;
  const report = await runMemoryWorkload(config);
  await new Promise<void>((resolve, reject) => send(report, undefined, {}, (error) => (error ? reject(error) : resolve())));
  process.disconnect();
}

main().catch((error: unknown) => {
  process.stderr.write(`memory-worker: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
  process.disconnect?.();
});
