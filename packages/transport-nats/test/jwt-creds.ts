import { createHash } from 'node:crypto';
import { nkeys } from '@nats-io/transport-node';

/**
 * A NATS operator/account/user set-up made offline for the credentials-file
 * test, without `nsc`: NKeys from nats.js's nkeys, and the three JWTs
 * (`ed25519-nkey`, claims version 2) signed with them. Only what the server
 * checks is filled in: issuer, subject, type, and unlimited account and user
 * limits, plus the user's permissions.
 */

type KeyPair = ReturnType<typeof nkeys.createOperator>;

const base64url = (bytes: Uint8Array | string): string => Buffer.from(bytes).toString('base64url');

function jwt(signer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = base64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }));
  const claims: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), iss: signer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } };
  // The JWT id: a hash of the claims, in the base32 alphabet NATS uses.
  claims['jti'] = createHash('sha256').update(JSON.stringify(claims)).digest('hex').slice(0, 52).toUpperCase();
  const body = base64url(JSON.stringify(claims));
  const signature = signer.sign(new TextEncoder().encode(`${header}.${body}`));
  return `${header}.${body}.${base64url(signature)}`;
}

const UNLIMITED = { subs: -1, data: -1, payload: -1 };

export interface JwtSetup {
  /** nats-server configuration: the operator, and the account preloaded into a memory resolver. */
  readonly serverConfig: string;
  /** The text of a `.creds` file for a user with `permissions`. */
  userCreds(name: string, permissions: { publish: string[]; subscribe: string[] }): string;
}

export function jwtSetup(): JwtSetup {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const operatorJwt = jwt(operator, operator.getPublicKey(), 'synod-test-operator', { type: 'operator' });
  // The account is signed by the operator.
  const signedAccountJwt = jwt(operator, account.getPublicKey(), 'synod-test-account', {
    type: 'account',
    limits: { ...UNLIMITED, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 },
  });
  return {
    serverConfig: `operator: ${operatorJwt}\nresolver: MEMORY\nresolver_preload: {\n  ${account.getPublicKey()}: ${signedAccountJwt}\n}\n`,
    userCreds(name, permissions) {
      const user = nkeys.createUser();
      const userJwt = jwt(account, user.getPublicKey(), name, {
        type: 'user',
        ...UNLIMITED,
        pub: { allow: permissions.publish },
        sub: { allow: permissions.subscribe },
        resp: { max: 1, ttl: 0 },
      });
      const seed = new TextDecoder().decode(user.getSeed());
      return [
        '-----BEGIN NATS USER JWT-----',
        userJwt,
        '------END NATS USER JWT------',
        '',
        '-----BEGIN USER NKEY SEED-----',
        seed,
        '------END USER NKEY SEED------',
        '',
      ].join('\n');
    },
  };
}
