import { MigrationInterface, QueryRunner } from 'typeorm';

/*
 * The distribution catalogue and its first entries. Install commands are templates: the server fills
 * {{serverUrl}}, {{enrollmentToken}}, {{agentSha256}}, {{hostname}} and {{username}}, and the parent's
 * agent runs each one as root in the guest (sudo/doas over SSH, or wsl.exe -u root). Checksums are only
 * pinned where the publisher's value is fixed; rolling images ("latest", "release") are checked against
 * the publisher's checksum list instead, which the agent fetches next to the image.
 */

const BUNDLE = '/usr/local/lib/sysfleet/sysfleet-agent.cjs';
const STATE = '/var/lib/sysfleet-agent';
const AGENT_ARGS = `${BUNDLE} run --state-dir ${STATE}`;

const prepareDirs = `mkdir -p /usr/local/lib/sysfleet ${STATE} && chmod 700 ${STATE}`;
const fetchWithCurl = `curl -fsSL '{{serverUrl}}/agent/sysfleet-agent.cjs' -o ${BUNDLE}`;
const checkWithSha256sum = `echo '{{agentSha256}}  ${BUNDLE}' | sha256sum -c -`;
// The token is single-use; the file stays readable by root only.
const writeAgentConfig = `umask 077 && printf '{"server":"%s","enrollmentToken":"%s"}\\n' '{{serverUrl}}' '{{enrollmentToken}}' > ${STATE}/agent.json`;
const nodeAtLeast18 = `node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' || { echo 'Node.js 18 or newer is needed' >&2; exit 1; }`;

const systemdUnit = [
  `printf '%s\\n' '[Unit]' 'Description=Sysfleet agent' 'Wants=network-online.target' 'After=network-online.target' '' '[Service]' 'ExecStart=/usr/bin/env node ${AGENT_ARGS}' 'Restart=always' 'RestartSec=5' '' '[Install]' 'WantedBy=multi-user.target' > /etc/systemd/system/sysfleet-agent.service`,
  'systemctl daemon-reload && systemctl enable --now sysfleet-agent',
];

/** Fetch, verify, configure and start the agent on a systemd Linux guest that already has Node. */
const linuxAgent = [nodeAtLeast18, prepareDirs, fetchWithCurl, checkWithSha256sum, writeAgentConfig, ...systemdUnit];

const apt = ['export DEBIAN_FRONTEND=noninteractive && apt-get update -q && apt-get install -y -q nodejs curl ca-certificates'];
// Node.js from nodejs.org, checked against the release's SHASUMS256.txt, for distributions whose own Node is older than 18.
const NODE = 'v20.18.1';
const nodeTarball = [
  'export DEBIAN_FRONTEND=noninteractive && apt-get update -q && apt-get install -y -q curl xz-utils ca-certificates',
  `cd /tmp && curl -fsSLO https://nodejs.org/dist/${NODE}/node-${NODE}-linux-x64.tar.xz && curl -fsSL https://nodejs.org/dist/${NODE}/SHASUMS256.txt | grep ' node-${NODE}-linux-x64.tar.xz$' | sha256sum -c -`,
  `tar -xJf /tmp/node-${NODE}-linux-x64.tar.xz -C /usr/local --strip-components=1 --no-same-owner && rm -f /tmp/node-${NODE}-linux-x64.tar.xz`,
];
const dnf = ['dnf -y install nodejs curl'];
// EL9's default Node stream is 16; the nodejs:20 module stream is in AppStream.
const dnfEl9 = ['dnf -y module enable nodejs:20 && dnf -y install nodejs curl'];
const zypper = ['zypper --non-interactive install nodejs-default curl'];

const alpineAgent = [
  'apk add --no-cache nodejs curl',
  nodeAtLeast18, prepareDirs, fetchWithCurl, checkWithSha256sum, writeAgentConfig,
  `printf '%s\\n' '#!/sbin/openrc-run' 'name="sysfleet-agent"' 'command="/usr/bin/node"' 'command_args="${AGENT_ARGS}"' 'command_background=true' 'pidfile="/run/sysfleet-agent.pid"' 'output_log="/var/log/sysfleet-agent.log"' 'error_log="/var/log/sysfleet-agent.log"' 'depend() { need net; }' > /etc/init.d/sysfleet-agent && chmod 755 /etc/init.d/sysfleet-agent`,
  'rc-update add sysfleet-agent default && rc-service sysfleet-agent start',
];

const openbsdAgent = [
  'pkg_add -I node',
  nodeAtLeast18,
  prepareDirs,
  `ftp -o ${BUNDLE} '{{serverUrl}}/agent/sysfleet-agent.cjs'`,
  `echo 'SHA256 (${BUNDLE}) = {{agentSha256}}' > /tmp/sysfleet-agent.sha256 && sha256 -C /tmp/sysfleet-agent.sha256 ${BUNDLE}`,
  writeAgentConfig,
  `printf '%s\\n' '#!/bin/ksh' 'daemon="/usr/local/bin/node"' 'daemon_flags="${AGENT_ARGS}"' '. /etc/rc.d/rc.subr' 'rc_bg=YES' 'rc_reload=NO' 'rc_cmd $1' > /etc/rc.d/sysfleet_agent && chmod 555 /etc/rc.d/sysfleet_agent`,
  'rcctl enable sysfleet_agent && rcctl start sysfleet_agent',
];

// WSL has no service manager unless systemd is switched on (which needs a restart of the distribution):
// a [boot] command starts the agent whenever the distribution starts, and it is started once now.
const wslStart = [
  `printf '%s\\n' '#!/bin/sh' 'if [ -f /run/sysfleet-agent.pid ] && kill -0 "$(cat /run/sysfleet-agent.pid)" 2>/dev/null; then exit 0; fi' 'nohup node ${AGENT_ARGS} >>/var/log/sysfleet-agent.log 2>&1 &' 'echo $! > /run/sysfleet-agent.pid' > /usr/local/lib/sysfleet/start-agent.sh && chmod 755 /usr/local/lib/sysfleet/start-agent.sh`,
  `if grep -q '^\\[boot\\]' /etc/wsl.conf 2>/dev/null; then sed -i '/^\\[boot\\]/a command = /usr/local/lib/sysfleet/start-agent.sh' /etc/wsl.conf; else printf '%s\\n' '[boot]' 'command = /usr/local/lib/sysfleet/start-agent.sh' >> /etc/wsl.conf; fi`,
  '/usr/local/lib/sysfleet/start-agent.sh',
];
const wslAgent = (install: string[]) => [...install, nodeAtLeast18, prepareDirs, fetchWithCurl, checkWithSha256sum, writeAgentConfig, ...wslStart];

interface Seed {
  childType: 'kvm' | 'vmm' | 'wsl';
  name: string;
  version: string;
  displayName: string;
  installIdentifier: string;
  imageUrl: string | null;
  sha256: string | null;
  checksumUrl: string | null;
  defaults: [vcpus: number, memoryMb: number, diskGb: number];
  installCommands: string[];
  appliance?: boolean;
  enabled?: boolean;
  notes: string | null;
}

const UBUNTU_2404 = 'https://cloud-images.ubuntu.com/releases/24.04/release';
const UBUNTU_2204 = 'https://cloud-images.ubuntu.com/releases/22.04/release';
const DEBIAN_12 = 'https://cloud.debian.org/images/cloud/bookworm/latest';
const FEDORA_42 = 'https://download.fedoraproject.org/pub/fedora/linux/releases/42/Cloud/x86_64/images';
const ALMA_9 = 'https://repo.almalinux.org/almalinux/9/cloud/x86_64/images';
const ALPINE_321 = 'https://dl-cdn.alpinelinux.org/alpine/v3.21/releases/cloud';
const OPENBSD = 'https://cdn.openbsd.org/pub/OpenBSD';
const DEBIAN_SUMS_NOTE = 'Debian publishes SHA512SUMS only (no SHA256SUMS) for its cloud images; the agent checks the image with SHA-512 from that list.';
const VMD_LINUX_NOTE = 'vmd boots BIOS images with a serial console: the cloud image is used as the install, the cloud-init seed is attached as a second raw disk labelled cidata.';

export const DISTRIBUTION_SEEDS: Seed[] = [
  // KVM: cloud images, imported with a cloud-init seed.
  {
    childType: 'kvm', name: 'ubuntu', version: '24.04', displayName: 'Ubuntu 24.04 LTS (Noble) cloud image', installIdentifier: 'ubuntu24.04',
    imageUrl: `${UBUNTU_2404}/ubuntu-24.04-server-cloudimg-amd64.img`, sha256: null, checksumUrl: `${UBUNTU_2404}/SHA256SUMS`,
    defaults: [2, 2048, 20], installCommands: [...apt, ...linuxAgent], notes: 'Rolling "release" image: checked against the release SHA256SUMS.',
  },
  {
    childType: 'kvm', name: 'ubuntu', version: '22.04', displayName: 'Ubuntu 22.04 LTS (Jammy) cloud image', installIdentifier: 'ubuntu22.04',
    imageUrl: `${UBUNTU_2204}/ubuntu-22.04-server-cloudimg-amd64.img`, sha256: null, checksumUrl: `${UBUNTU_2204}/SHA256SUMS`,
    defaults: [2, 2048, 20], installCommands: [...nodeTarball, ...linuxAgent],
    notes: 'Ubuntu 22.04 ships Node.js 12, too old for the agent: Node.js 20 is installed from nodejs.org, checked against its SHASUMS256.txt.',
  },
  {
    childType: 'kvm', name: 'debian', version: '12', displayName: 'Debian 12 (Bookworm) generic cloud image', installIdentifier: 'debian12',
    imageUrl: `${DEBIAN_12}/debian-12-generic-amd64.qcow2`, sha256: null, checksumUrl: `${DEBIAN_12}/SHA512SUMS`,
    defaults: [2, 2048, 20], installCommands: [...apt, ...linuxAgent], notes: DEBIAN_SUMS_NOTE,
  },
  {
    childType: 'kvm', name: 'fedora', version: '42', displayName: 'Fedora 42 Cloud Base (generic)', installIdentifier: 'fedora-unknown',
    imageUrl: `${FEDORA_42}/Fedora-Cloud-Base-Generic-42-1.1.x86_64.qcow2`, sha256: null, checksumUrl: `${FEDORA_42}/Fedora-Cloud-42-1.1-x86_64-CHECKSUM`,
    defaults: [2, 2048, 20], installCommands: [...dnf, ...linuxAgent], notes: 'The CHECKSUM file is PGP-signed and uses BSD lines (SHA256 (file) = hash).',
  },
  {
    childType: 'kvm', name: 'almalinux', version: '9', displayName: 'AlmaLinux 9 GenericCloud', installIdentifier: 'almalinux9',
    imageUrl: `${ALMA_9}/AlmaLinux-9-GenericCloud-latest.x86_64.qcow2`, sha256: null, checksumUrl: `${ALMA_9}/CHECKSUM`,
    defaults: [2, 2048, 20], installCommands: [...dnfEl9, ...linuxAgent], notes: 'Rolling "latest" image: checked against the directory CHECKSUM list.',
  },
  {
    childType: 'kvm', name: 'alpine', version: '3.21', displayName: 'Alpine Linux 3.21 NoCloud (BIOS, cloud-init)', installIdentifier: 'alpinelinux3.21',
    imageUrl: `${ALPINE_321}/nocloud_alpine-3.21.0-x86_64-bios-cloudinit-r0.qcow2`, sha256: null,
    checksumUrl: `${ALPINE_321}/nocloud_alpine-3.21.0-x86_64-bios-cloudinit-r0.qcow2.sha512`,
    defaults: [1, 1024, 8], installCommands: alpineAgent, notes: 'Alpine publishes a .sha512 file next to each cloud image; OpenRC runs the agent.',
  },
  {
    childType: 'kvm', name: 'home-assistant-os', version: '14.2', displayName: 'Home Assistant OS 14.2 (appliance)', installIdentifier: 'generic',
    imageUrl: 'https://github.com/home-assistant/operating-system/releases/download/14.2/haos_ova-14.2.qcow2.xz', sha256: null, checksumUrl: null,
    defaults: [2, 4096, 32], installCommands: [], appliance: true, enabled: false,
    notes: 'Imported as it is (xz-compressed qcow2, UEFI boot), no agent. Home Assistant publishes no checksum list: pin the sha256 of the .xz from the release page, then enable this entry.',
  },
  // vmd (OpenBSD hosts).
  {
    childType: 'vmm', name: 'openbsd', version: '7.6', displayName: 'OpenBSD 7.6 (autoinstall)', installIdentifier: 'openbsd76',
    imageUrl: `${OPENBSD}/7.6/amd64/install76.img`, sha256: null, checksumUrl: `${OPENBSD}/7.6/amd64/SHA256`,
    defaults: [1, 1024, 20], installCommands: openbsdAgent, notes: 'install76.img boots the installer; autoinstall answers it. SHA256 uses BSD lines.',
  },
  {
    childType: 'vmm', name: 'openbsd', version: '7.7', displayName: 'OpenBSD 7.7 (autoinstall)', installIdentifier: 'openbsd77',
    imageUrl: `${OPENBSD}/7.7/amd64/install77.img`, sha256: null, checksumUrl: `${OPENBSD}/7.7/amd64/SHA256`,
    defaults: [1, 1024, 20], installCommands: openbsdAgent, notes: 'install77.img boots the installer; autoinstall answers it. SHA256 uses BSD lines.',
  },
  {
    childType: 'vmm', name: 'debian', version: '12', displayName: 'Debian 12 (Bookworm) on vmd', installIdentifier: 'debian12',
    imageUrl: `${DEBIAN_12}/debian-12-generic-amd64.qcow2`, sha256: null, checksumUrl: `${DEBIAN_12}/SHA512SUMS`,
    defaults: [1, 2048, 20], installCommands: [...apt, ...linuxAgent], notes: `${VMD_LINUX_NOTE} ${DEBIAN_SUMS_NOTE}`,
  },
  {
    childType: 'vmm', name: 'ubuntu', version: '24.04', displayName: 'Ubuntu 24.04 LTS on vmd', installIdentifier: 'ubuntu24.04',
    imageUrl: `${UBUNTU_2404}/ubuntu-24.04-server-cloudimg-amd64.img`, sha256: null, checksumUrl: `${UBUNTU_2404}/SHA256SUMS`,
    defaults: [1, 2048, 20], installCommands: [...apt, ...linuxAgent], notes: VMD_LINUX_NOTE,
  },
  {
    childType: 'vmm', name: 'alpine', version: '3.21', displayName: 'Alpine Linux 3.21 on vmd', installIdentifier: 'alpinelinux3.21',
    imageUrl: `${ALPINE_321}/nocloud_alpine-3.21.0-x86_64-bios-cloudinit-r0.qcow2`, sha256: null,
    checksumUrl: `${ALPINE_321}/nocloud_alpine-3.21.0-x86_64-bios-cloudinit-r0.qcow2.sha512`,
    defaults: [1, 512, 8], installCommands: alpineAgent, notes: VMD_LINUX_NOTE,
  },
  // WSL (Windows hosts): installIdentifier is the `wsl --install -d` name; no image to fetch.
  {
    childType: 'wsl', name: 'ubuntu', version: '24.04', displayName: 'Ubuntu 24.04 LTS (WSL)', installIdentifier: 'Ubuntu-24.04', imageUrl: null, sha256: null, checksumUrl: null,
    defaults: [2, 2048, 20], installCommands: wslAgent(apt), notes: 'Memory and vCPUs are shared by all WSL 2 distributions (.wslconfig); the values here count against the host reserve.',
  },
  {
    childType: 'wsl', name: 'debian', version: 'stable', displayName: 'Debian (WSL)', installIdentifier: 'Debian', imageUrl: null, sha256: null, checksumUrl: null,
    defaults: [2, 2048, 20], installCommands: wslAgent(apt), notes: null,
  },
  {
    childType: 'wsl', name: 'opensuse-tumbleweed', version: 'rolling', displayName: 'openSUSE Tumbleweed (WSL)', installIdentifier: 'openSUSE-Tumbleweed', imageUrl: null, sha256: null, checksumUrl: null,
    defaults: [2, 2048, 20], installCommands: wslAgent(zypper), notes: null,
  },
  {
    childType: 'wsl', name: 'kali-linux', version: 'rolling', displayName: 'Kali Linux (WSL)', installIdentifier: 'kali-linux', imageUrl: null, sha256: null, checksumUrl: null,
    defaults: [2, 2048, 20], installCommands: wslAgent(apt), notes: null,
  },
  {
    childType: 'wsl', name: 'almalinux', version: '9', displayName: 'AlmaLinux 9 (WSL)', installIdentifier: 'AlmaLinux-9', imageUrl: null, sha256: null, checksumUrl: null,
    defaults: [2, 2048, 20], installCommands: wslAgent(dnfEl9), notes: null,
  },
  {
    childType: 'wsl', name: 'oraclelinux', version: '9.1', displayName: 'Oracle Linux 9.1 (WSL)', installIdentifier: 'OracleLinux_9_1', imageUrl: null, sha256: null, checksumUrl: null,
    defaults: [2, 2048, 20], installCommands: wslAgent(dnfEl9), notes: null,
  },
];

export class Distributions1764000000005 implements MigrationInterface {
  name = 'Distributions1764000000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE distributions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        "childType" text NOT NULL CHECK ("childType" IN ('kvm', 'vmm', 'wsl')),
        name text NOT NULL,
        version text NOT NULL,
        "displayName" text NOT NULL,
        "installIdentifier" text NOT NULL,
        "imageUrl" text NULL,
        sha256 text NULL CHECK (sha256 ~ '^[a-f0-9]{64}$'),
        "checksumUrl" text NULL,
        "defaultVcpus" integer NOT NULL CHECK ("defaultVcpus" > 0),
        "defaultMemoryMb" integer NOT NULL CHECK ("defaultMemoryMb" > 0),
        "defaultDiskGb" integer NOT NULL CHECK ("defaultDiskGb" > 0),
        "installCommands" text[] NOT NULL DEFAULT '{}',
        appliance boolean NOT NULL DEFAULT false,
        enabled boolean NOT NULL DEFAULT true,
        notes text NULL,
        "createdAt" timestamptz NOT NULL DEFAULT now(),
        "updatedAt" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT distributions_type_name_version UNIQUE ("childType", name, version)
      )`);
    for (const d of DISTRIBUTION_SEEDS) {
      await q.query(
        `INSERT INTO distributions ("childType", name, version, "displayName", "installIdentifier", "imageUrl", sha256, "checksumUrl",
           "defaultVcpus", "defaultMemoryMb", "defaultDiskGb", "installCommands", appliance, enabled, notes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [d.childType, d.name, d.version, d.displayName, d.installIdentifier, d.imageUrl, d.sha256, d.checksumUrl, ...d.defaults, d.installCommands,
          d.appliance ?? false, d.enabled ?? true, d.notes],
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE distributions`);
  }
}
