#!/usr/bin/env node
// `pnpm chaos …`: the chaos suite against the workspace's built `synod serve`.
import { runChaosCli } from './cli.js';

const io = {
  stdout: (line: string) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => process.stderr.write(`${line}\n`),
};
runChaosCli(process.argv.slice(2), io).then(
  (code) => process.exit(code),
  (error: unknown) => {
    io.stderr(`synod chaos: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
