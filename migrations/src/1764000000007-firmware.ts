import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * The firmware a distribution's image boots with: `bios` (SeaBIOS, what every cloud image in the catalogue
 * boots) or `uefi` (OVMF). Home Assistant OS ships a UEFI-only disk image, so its entry is set to uefi;
 * the KVM agent then passes `--boot uefi` to virt-install.
 */
export class Firmware1764000000007 implements MigrationInterface {
  name = 'Firmware1764000000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE distributions ADD COLUMN firmware text NOT NULL DEFAULT 'bios' CONSTRAINT distributions_firmware CHECK (firmware IN ('bios', 'uefi'))`);
    await q.query(`UPDATE distributions SET firmware = 'uefi' WHERE "childType" = 'kvm' AND name = 'home-assistant-os'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE distributions DROP COLUMN firmware`);
  }
}
