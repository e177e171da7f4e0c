#!/usr/bin/env node
import { main } from './cli.js';

// grpc-js hands Node the dialled host as the TLS server name, and Node warns
// (DEP0123) when that is an IP address such as 127.0.0.1; the name is only
// SNI, the certificate is still checked against the address, so the warning
// would only be noise on every `synod kv` and `synod status`.
process.noDeprecation = true;

const io = {
  stdout: (line: string) => process.stdout.write(`${line}\n`),
  stderr: (line: string) => process.stderr.write(`${line}\n`),
  terminal: process.stderr,
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
