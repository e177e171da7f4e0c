#!/usr/bin/env node
import { main } from './cli.js';

const io = {
  stdout: (line: string) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => process.stderr.write(`${line}\n`),
};

main(process.argv.slice(2), io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Unexpected failure: one clear line, not a stack trace.
    io.stderr(`synod: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
