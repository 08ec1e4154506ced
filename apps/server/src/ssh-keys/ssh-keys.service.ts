import { Injectable } from '@nestjs/common';
import type { Actor } from '../auth/auth.decorators';
import { SecretBox } from '../common/secret-box';
import { generateEd25519, parsePublicKey, SshKeyFormatError } from './openssh';
import { CreateSshKeyDto } from './ssh-keys.dto';
import { SshKeyEntity } from './ssh-keys.entity';
import { SshKeyErrors } from './ssh-keys.errors';
import { NewSshKey, SshKeysRepository } from './ssh-keys.repository';

/** Operators' SSH public keys, attached to child VMs at creation (cloud-init authorised keys). */
@Injectable()
export class SshKeysService {
  constructor(private readonly repo: SshKeysRepository, private readonly secrets: SecretBox) {}

  /**
   * Stores the key. For a generated pair, `privateKey` is the OpenSSH private key in the clear: the
   * caller hands it to the operator once (201 response) and must not log or keep it; only the sealed
   * copy stays in the table.
   */
  async create(dto: CreateSshKeyDto, actor: Actor): Promise<{ key: SshKeyEntity; privateKey: string | null }> {
    if (dto.generate === true && dto.publicKey !== undefined) throw SshKeyErrors.BAD_REQUEST('Give either generate: true or a publicKey, not both');
    let row: NewSshKey;
    let privateKey: string | null = null;
    if (dto.generate === true) {
      const pair = generateEd25519(dto.name);
      privateKey = pair.privateKey;
      row = { name: dto.name, publicKey: pair.publicKey, fingerprint: pair.fingerprint, privateKeyEncrypted: this.secrets.seal(pair.privateKey), createdBy: actor.username };
    } else if (dto.publicKey !== undefined) {
      const parsed = this.parse(dto.publicKey);
      row = { name: dto.name, publicKey: parsed.comment ? `${parsed.canonical} ${parsed.comment}` : parsed.canonical, fingerprint: parsed.fingerprint, privateKeyEncrypted: null, createdBy: actor.username };
    } else {
      throw SshKeyErrors.BAD_REQUEST();
    }
    const created = await this.repo.insert(row);
    if (!created) throw SshKeyErrors.NAME_TAKEN(`An SSH key named "${dto.name}" exists`);
    return { key: created, privateKey };
  }

  list(): Promise<SshKeyEntity[]> {
    return this.repo.listByName();
  }

  async get(id: string): Promise<SshKeyEntity> {
    const key = await this.repo.findById(id);
    if (!key) throw SshKeyErrors.NOT_FOUND(`SSH key ${id} not found`);
    return key;
  }

  /** The public keys of `ids`, in the given order; an unknown id is an error naming it. */
  async publicKeysOf(ids: string[]): Promise<string[]> {
    const unique = [...new Set(ids)];
    const found = new Map((await this.repo.findByIds(unique)).map((k) => [k.id, k.publicKey]));
    const missing = unique.filter((id) => !found.has(id));
    if (missing.length) throw SshKeyErrors.NOT_FOUND(`SSH key(s) not found: ${missing.join(', ')}`);
    return unique.map((id) => found.get(id)!);
  }

  async remove(id: string): Promise<void> {
    if (!(await this.repo.deleteById(id))) throw SshKeyErrors.NOT_FOUND(`SSH key ${id} not found`);
  }

  /** Validates one public key line; the error names the request field and says what is wrong with it. */
  parse(line: string, field = 'publicKey') {
    try {
      return parsePublicKey(line);
    } catch (e) {
      if (e instanceof SshKeyFormatError) {
        throw SshKeyErrors.INVALID(`${field}: the public key is not valid: ${e.message}`, [{ field, errors: [e.message] }]);
      }
      throw e;
    }
  }
}
