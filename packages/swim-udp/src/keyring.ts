import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '@synod/core';

/** Format byte of a sealed message; a later format gets another value. */
const SEALED_V1 = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Sealing adds this many bytes: format, nonce, GCM tag. */
export const SEAL_OVERHEAD_BYTES = 1 + NONCE_BYTES + TAG_BYTES;

function checkKey(key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new InvalidArgumentError(`keyring keys are 32 bytes (AES-256), got ${key instanceof Uint8Array ? key.length : typeof key}`);
  }
  return Buffer.from(key);
}

/**
 * The shared keys of a cluster's datagram path: messages are sealed
 * (encrypted and authenticated) with AES-256-GCM under the primary key, and
 * opened with whichever installed key fits, so keys rotate without downtime:
 *
 * 1. `install(next)` on every member (they now open both);
 * 2. `use(next)` on every member (they now seal with it; the others still open it);
 * 3. `remove(old)` on every member.
 *
 * The additional authenticated data binds every message to its cluster id,
 * so a message of another cluster sharing the key does not open.
 *
 * @example
 * ```ts
 * const keyring = new Keyring([Buffer.from(process.env.SWIM_KEY!, 'base64')]);
 * const sealed = keyring.seal(bytes, 'prod');
 * keyring.open(sealed, 'prod'); // bytes, or undefined when no key fits
 * ```
 */
export class Keyring {
  #keys: Buffer[];

  /** @throws InvalidArgumentError without keys, or for a key that is not 32 bytes. The first key is the primary. */
  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new InvalidArgumentError('a keyring needs at least one key');
    this.#keys = keys.map(checkKey);
  }

  /** A fresh random key. */
  static generateKey(): Buffer {
    return randomBytes(32);
  }

  /** The key that seals. */
  get primary(): Buffer {
    return Buffer.from(this.#keys[0]!);
  }

  /** How many keys open messages. */
  get size(): number {
    return this.#keys.length;
  }

  /** Adds a key that opens messages (step 1 of a rotation). Idempotent. */
  install(key: Uint8Array): void {
    const buffer = checkKey(key);
    if (!this.#has(buffer)) this.#keys.push(buffer);
  }

  /** Makes an installed key the primary (step 2). @throws InvalidArgumentError when it is not installed. */
  use(key: Uint8Array): void {
    const buffer = checkKey(key);
    const index = this.#keys.findIndex((k) => k.equals(buffer));
    if (index < 0) throw new InvalidArgumentError('install a key before using it');
    this.#keys.unshift(...this.#keys.splice(index, 1));
  }

  /** Removes a key (step 3). @throws InvalidArgumentError for the primary key. */
  remove(key: Uint8Array): void {
    const buffer = checkKey(key);
    if (this.#keys[0]!.equals(buffer)) throw new InvalidArgumentError('the primary key cannot be removed; use() another first');
    this.#keys = this.#keys.filter((k) => !k.equals(buffer));
  }

  /** Copies of the installed keys, the primary first. */
  keys(): Buffer[] {
    return this.#keys.map((key) => Buffer.from(key));
  }

  /**
   * Makes the keyring hold exactly `keys`, the first the primary: what a
   * member does when its keyring file was edited and reloaded. Applied on
   * every member in the three rounds of a rotation, it never leaves a
   * message without a key that opens it.
   *
   * @example
   * ```ts
   * keyring.replace([oldKey, newKey]); // round 1: open with both
   * keyring.replace([newKey, oldKey]); // round 2: seal with the new one
   * keyring.replace([newKey]);         // round 3
   * ```
   * @throws InvalidArgumentError without keys, or for a key that is not 32 bytes (the keyring is then unchanged).
   */
  replace(keys: readonly Uint8Array[]): void {
    if (keys.length === 0) throw new InvalidArgumentError('a keyring needs at least one key');
    const checked = keys.map(checkKey);
    this.#keys = checked.filter((key, index) => checked.findIndex((k) => k.equals(key)) === index);
  }

  /** Encrypts and authenticates `plain` under the primary key: format byte, nonce, ciphertext, tag. */
  seal(plain: Uint8Array, clusterId: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys[0]!, nonce);
    cipher.setAAD(Buffer.from(clusterId, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(SEALED_V1), nonce, body, cipher.getAuthTag()]);
  }

  /** The plaintext, or undefined when the message is malformed or no installed key (or another cluster id) fits. */
  open(sealed: Uint8Array, clusterId: string): Buffer | undefined {
    if (sealed.length < SEAL_OVERHEAD_BYTES || sealed[0] !== SEALED_V1) return undefined;
    const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
    const body = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const aad = Buffer.from(clusterId, 'utf8');
    for (const key of this.#keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce);
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        // Not this key; try the next.
      }
    }
    return undefined;
  }

  #has(key: Buffer): boolean {
    return this.#keys.some((k) => k.equals(key));
  }
}
