import {
  createCertificateAuthority,
  createClientCertificate,
  createNodeCertificate,
  type CertificateAndKey,
  type CertificateAuthority,
} from '../src/certificates.js';
import type { GrpcSecurity } from '../src/index.js';

/** A CA and the certificates issued from it, made once per test file and memoised. */
export class TestPki {
  readonly #ca: Promise<CertificateAuthority>;
  readonly #issued = new Map<string, Promise<CertificateAndKey>>();

  constructor(readonly clusterId = 'test-cluster') {
    this.#ca = createCertificateAuthority({ commonName: 'Synod test CA' });
  }

  ca(): Promise<CertificateAuthority> {
    return this.#ca;
  }

  node(nodeId: string, clusterId = this.clusterId): Promise<CertificateAndKey> {
    const key = `node:${clusterId}/${nodeId}`;
    let issued = this.#issued.get(key);
    if (issued === undefined) {
      issued = this.#ca.then((ca) => createNodeCertificate(ca, { clusterId, nodeId }));
      this.#issued.set(key, issued);
    }
    return issued;
  }

  client(name: string): Promise<CertificateAndKey> {
    return this.#ca.then((ca) => createClientCertificate(ca, { clusterId: this.clusterId, name }));
  }

  /** The security option of a node holding `nodeId`'s certificate. */
  async security(nodeId: string, options: { readonly clusterId?: string; readonly requireClientCert?: boolean } = {}): Promise<GrpcSecurity> {
    const [ca, issued] = await Promise.all([this.#ca, this.node(nodeId, options.clusterId)]);
    return { tls: { cert: issued.certPem, key: issued.keyPem, ca: ca.certPem, requireClientCert: options.requireClientCert } };
  }
}
