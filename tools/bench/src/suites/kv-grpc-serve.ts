#!/usr/bin/env node
// One `synod serve` process for the kv-grpc suite: the demo's CLI entry,
// run with the arguments it was forked with.
import { main } from '@synod/demo';

const io = {
  stdout: (line: string) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => process.stderr.write(`${line}\n`),
};
main(['serve', ...process.argv.slice(2)], io).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    io.stderr(`serve: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
