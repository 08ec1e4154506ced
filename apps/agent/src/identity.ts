import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, randomBytes, sign as signBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fingerprintOf, HandshakeAuth, handshakeMessage, HOST_STATUSES, HostStatus, PROTOCOL_VERSION } from '@sysfleet/protocol';
import { fsyncDir, isPlainObject, readJsonFile, writeFileAtomic } from './fs-util';

export const PRIVATE_KEY_FILE = 'agent.key';
export const PUBLIC_KEY_FILE = 'agent.pub';
export const STATE_FILE = 'state.json';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Creates the state dir (mode 0700) or tightens an existing one: it holds the host's private key. */
export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') chmodSync(dir, 0o700);
}

/** A fresh single-use nonce in the handshake's alphabet. */
export function newNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** The host's Ed25519 key pair. The key, not the hostname, is who this host is. */
export class Identity {
  readonly publicKeyPem: string;
  readonly fingerprint: string;

  private constructor(private readonly privateKey: KeyObject) {
    this.publicKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
    this.fingerprint = fingerprintOf(this.publicKeyPem);
  }

  /** Loads the key from the state dir, creating it (mode 0600) on first start. */
  static loadOrCreate(stateDir: string): Identity {
    ensureStateDir(stateDir);
    const keyFile = path.join(stateDir, PRIVATE_KEY_FILE);
    let pem: string;
    try {
      pem = readFileSync(keyFile, 'utf8');
      if (process.platform !== 'win32' && (statSync(keyFile).mode & 0o077) !== 0) chmodSync(keyFile, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      pem = createKeyFile(keyFile);
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      throw new Error(`${keyFile} does not hold a private key: ${(e as Error).message}`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${keyFile} is not an Ed25519 key`);
    const identity = new Identity(key);
    const pubFile = path.join(stateDir, PUBLIC_KEY_FILE);
    if (readFileOrEmpty(pubFile) !== identity.publicKeyPem) writeFileAtomic(pubFile, identity.publicKeyPem, 0o644);
    return identity;
  }

  /** The socket.io `auth` of one connection attempt: signs a fresh timestamp and nonce unless given. */
  sign(hostId: string | undefined, timestamp = Date.now(), nonce = newNonce()): HandshakeAuth {
    const signature = signBytes(null, handshakeMessage(hostId, this.fingerprint, timestamp, nonce), this.privateKey).toString('base64');
    const auth: HandshakeAuth = { protocolVersion: PROTOCOL_VERSION, publicKey: this.publicKeyPem, timestamp, nonce, signature };
    if (hostId) auth.hostId = hostId;
    return auth;
  }
}

function readFileOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Generates the key and publishes it with link(), which fails if another process got there first;
 * then the winner's key is used, so two starts racing never end up with two identities.
 */
function createKeyFile(keyFile: string): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const tmp = `${keyFile}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, pem);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, keyFile);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return readFileSync(keyFile, 'utf8');
  } finally {
    unlinkSync(tmp);
  }
  fsyncDir(path.dirname(keyFile));
  return pem;
}

/** What the server has told this host about itself (state.json). */
export interface AgentState {
  hostId?: string;
  status?: HostStatus;
}

export class StateStore {
  private readonly file: string;
  constructor(stateDir: string) {
    this.file = path.join(stateDir, STATE_FILE);
  }

  /** The saved state; fields that are not valid are dropped (the host then enrols again). */
  load(): AgentState {
    const raw = readJsonFile(this.file);
    if (!isPlainObject(raw)) return {};
    const state: AgentState = {};
    if (typeof raw.hostId === 'string' && UUID.test(raw.hostId)) state.hostId = raw.hostId;
    if (typeof raw.status === 'string' && (HOST_STATUSES as readonly string[]).includes(raw.status)) state.status = raw.status as HostStatus;
    return state;
  }

  save(state: AgentState): void {
    writeFileAtomic(this.file, JSON.stringify(state, null, 2) + '\n');
  }
}
