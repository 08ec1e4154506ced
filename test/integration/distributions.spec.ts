import { CHILD_TYPES, fillInstallCommand, INSTALL_PLACEHOLDERS, unknownPlaceholders } from '@sysfleet/protocol';
import { DataSource } from 'typeorm';
import { DistributionEntity } from '../../apps/server/src/distributions/distributions.entity';
import { validateDistribution } from '../../apps/server/src/distributions/distributions.service';
import { migratedDataSource } from '../support/data-source';
import { createTestDatabase, TestDatabase } from '../support/db';

describe('distributions catalogue (migration seed on real Postgres)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let rows: DistributionEntity[];

  beforeAll(async () => {
    db = await createTestDatabase('distributions');
    ds = await migratedDataSource(db.url, [DistributionEntity]);
    rows = await ds.getRepository(DistributionEntity).find();
  });

  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  it('seeds every hypervisor with the entries the issue lists', () => {
    const keys = rows.map((r) => `${r.childType}:${r.name}:${r.version}`);
    expect(keys).toEqual(expect.arrayContaining([
      'kvm:ubuntu:24.04', 'kvm:ubuntu:22.04', 'kvm:debian:12', 'kvm:fedora:42', 'kvm:almalinux:9', 'kvm:alpine:3.21', 'kvm:home-assistant-os:14.2',
      'vmm:openbsd:7.6', 'vmm:openbsd:7.7', 'vmm:debian:12', 'vmm:ubuntu:24.04', 'vmm:alpine:3.21',
      'wsl:ubuntu:24.04', 'wsl:debian:stable', 'wsl:opensuse-tumbleweed:rolling',
    ]));
    expect(rows.filter((r) => r.childType === 'wsl').map((r) => r.installIdentifier)).toEqual(
      expect.arrayContaining(['Ubuntu-24.04', 'Debian', 'openSUSE-Tumbleweed', 'kali-linux', 'AlmaLinux-9', 'OracleLinux_9_1']),
    );
  });

  it('every seeded row passes the create DTO validation', () => {
    for (const r of rows) {
      const { id: _i, createdAt: _c, updatedAt: _u, ...editable } = r;
      expect(() => validateDistribution(editable)).not.toThrow();
    }
  });

  it('every entry with an image can be verified, over https, and never carries an invented checksum', () => {
    for (const r of rows.filter((x) => x.imageUrl)) {
      expect(r.imageUrl).toMatch(/^https:\/\//);
      // The appliance has no published list: it ships disabled until an admin pins its sha256.
      if (r.enabled) expect(r.sha256 ?? r.checksumUrl).toBeTruthy();
      if (r.checksumUrl) expect(r.checksumUrl).toMatch(/^https:\/\//);
    }
    expect(rows.every((r) => r.sha256 === null)).toBe(true);
  });

  it('non-appliance entries fetch the agent from the server, check its checksum and enrol with the token', () => {
    const values = { serverUrl: 'https://fleet.example', enrollmentToken: `sfe_${'x'.repeat(43)}`, agentSha256: 'a'.repeat(64), hostname: 'web1', username: 'ops' };
    for (const r of rows.filter((x) => !x.appliance)) {
      const script = r.installCommands.map((c) => fillInstallCommand(c, values)).join('\n');
      expect(r.installCommands.flatMap(unknownPlaceholders)).toEqual([]);
      expect(script).toContain("'https://fleet.example/agent/sysfleet-agent.cjs'");
      expect(script).toMatch(r.childType === 'vmm' && r.name === 'openbsd' ? /sha256 -C/ : /sha256sum -c -/);
      expect(script).toContain(values.agentSha256);
      expect(script).toContain(values.enrollmentToken);
      expect(script).not.toMatch(/\{\{/);
      expect(script).toMatch(/node/);
    }
    const ha = rows.find((r) => r.appliance)!;
    expect(ha.installCommands).toEqual([]);
    expect(ha.enabled).toBe(false);
  });

  it('refuses a second entry with the same child type, name and version', async () => {
    const r = rows.find((x) => x.childType === 'kvm' && x.name === 'ubuntu')!;
    const { id: _i, createdAt: _c, updatedAt: _u, ...copy } = r;
    await expect(ds.getRepository(DistributionEntity).insert(copy)).rejects.toThrow(/distributions_type_name_version/);
  });

  it('covers exactly the known child types and placeholders', () => {
    expect(new Set(rows.map((r) => r.childType))).toEqual(new Set(CHILD_TYPES));
    expect(INSTALL_PLACEHOLDERS).toContain('enrollmentToken');
  });
});
