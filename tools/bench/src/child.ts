import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildOptions {
  /** Node flags for the child, e.g. `--expose-gc`. */
  readonly execArgv?: readonly string[];
  /** Kills the child after this long. @default 15 minutes */
  readonly timeoutMs?: number;
}

/**
 * Runs one measurement in a process of its own: `worker` (a module that
 * reads its configuration as JSON from `argv[2]` and answers with one IPC
 * message, see {@link answerParent}) is forked with `config`, and its answer
 * resolves the promise. A fresh process keeps a measurement free of what
 * earlier ones left behind: resident memory, and the JIT's type feedback
 * and optimised code, which are tuned to objects of a cluster that no
 * longer exists.
 */
export function runInChild<Config, Report>(worker: URL, config: Config, options: ChildOptions = {}): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(worker), [JSON.stringify(config)], {
      execArgv: [...(options.execArgv ?? [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let report: Report | undefined;
    const limit = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 15 * 60_000);
    child.on('message', (message) => {
      report = message as Report;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      if (report !== undefined) resolve(report);
      else reject(new Error(`${worker.pathname} exited with ${signal ?? `code ${code}`} and no report`));
    });
  });
}

/**
 * The child's side of {@link runInChild}: parses the configuration, runs
 * `measure`, sends its report to the parent and disconnects. Failures go to
 * stderr with exit code 1.
 */
export function answerParent<Config, Report>(name: string, measure: (config: Config) => Promise<Report>): void {
  const run = async (): Promise<void> => {
    const send = process.send?.bind(process);
    if (send === undefined) throw new Error(`${name} must be started by the bench CLI (child_process.fork)`);
    const config = JSON.parse(process.argv[2] ?? '') as Config;
    const report = await measure(config);
    await new Promise<void>((resolve, reject) => send(report, undefined, {}, (error) => (error ? reject(error) : resolve())));
    process.disconnect();
  };
  run().catch((error: unknown) => {
    process.stderr.write(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
    process.disconnect?.();
  });
}
