import { execFile, execFileSync } from 'node:child_process';

/** A system command (`ip`, `nft`, `tc`, `mount`) failed; `stderr` says why. */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(`${argv.join(' ')} failed: ${stderr.trim() || 'no output'}`, options);
  }
}

/**
 * Runs a command to completion and returns its stdout; throws
 * {@link CommandFailedError} on a non-zero exit. `input` goes to its stdin.
 */
export function run(argv: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new CommandFailedError(argv, stderr || error.message, { cause: error }));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like {@link run}, but synchronous and never throwing: for clean-up on the way out of a dying process. */
export function runQuietlySync(argv: readonly string[]): boolean {
  try {
    execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Whether `command` can be run (it is on the PATH or in /usr/sbin, /sbin). */
export async function hasCommand(command: string, probe: readonly string[] = ['--version']): Promise<boolean> {
  try {
    await run([command, ...probe]);
    return true;
  } catch {
    return false;
  }
}
