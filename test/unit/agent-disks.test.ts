/**
 * Disk auto-detection of the sh agent (pxe/agent/agent-disks.sh) on fake sysfs trees laid out as
 * the kernel does (/sys/block/X a link into /sys/devices/<bus path>/X), under busybox sh and dash:
 * the first fixed disk by bus (NVMe, SATA, virtio, eMMC), never USB, removable, SD, empty,
 * read-only or mounted disks; the result message and the report lines.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { callAgent, SHELLS } from '../helpers/agent-shell';

interface FakeDisk {
  readonly name: string;
  /** The device path under /sys/devices, the kernel's (without the trailing block/<name>). */
  readonly at: string;
  readonly sectors?: number;
  readonly removable?: 0 | 1;
  readonly ro?: 0 | 1;
  readonly model?: string;
  /** eMMC / SD: device/type and device/name instead of device/model. */
  readonly mmcType?: 'MMC' | 'SD';
}

const PC: Record<string, FakeDisk> = {
  nvme: { name: 'nvme0n1', at: 'pci0000:00/0000:00:1d.0/0000:03:00.0/nvme/nvme0', model: 'Samsung SSD 980 500GB', sectors: 976773168 },
  sata: { name: 'sda', at: 'pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0', model: 'ST1000DM010-2EP102', sectors: 1953525168 },
  sata2: { name: 'sdb', at: 'pci0000:00/0000:00:17.0/ata2/host1/target1:0:0/1:0:0:0', model: 'WDC WD5000', sectors: 976773168 },
  usbKey: { name: 'sdc', at: 'pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0', model: 'Ultra USB 3.0', removable: 1, sectors: 60063744 },
  // A USB hard disk says removable=0: its bus excludes it.
  usbDisk: { name: 'sdd', at: 'pci0000:00/0000:00:14.0/usb3/3-2/3-2:1.0/host7/target7:0:0/7:0:0:0', model: 'Elements 2621', sectors: 3907029168 },
  cardReader: { name: 'sde', at: 'pci0000:00/0000:00:17.0/ata3/host2/target2:0:0/2:0:0:0', model: 'Card Reader', removable: 0, sectors: 0 },
  dvd: { name: 'sr0', at: 'pci0000:00/0000:00:17.0/ata4/host3/target3:0:0/3:0:0:0', model: 'DVD-RW', removable: 1, sectors: 2097151 },
  virtio: { name: 'vda', at: 'pci0000:00/0000:00:04.0/virtio1', sectors: 131072 },
  emmc: { name: 'mmcblk0', at: 'pci0000:00/0000:00:1a.0/mmc_host/mmc0/mmc0:0001', mmcType: 'MMC', model: 'DA4064', sectors: 122142720 },
  emmcBoot: { name: 'mmcblk0boot0', at: 'pci0000:00/0000:00:1a.0/mmc_host/mmc0/mmc0:0001', sectors: 8192, ro: 1 },
  sdCard: { name: 'mmcblk1', at: 'pci0000:00/0000:00:1e.6/mmc_host/mmc1/mmc1:aaaa', mmcType: 'SD', model: 'SC32G', sectors: 62333952 },
  loop: { name: 'loop0', at: 'virtual', sectors: 204800 },
  zram: { name: 'zram0', at: 'virtual', sectors: 204800 },
  readOnly: { name: 'sdf', at: 'pci0000:00/0000:00:17.0/ata5/host4/target4:0:0/4:0:0:0', model: 'Locked', ro: 1, sectors: 1000 },
};

/** A sysfs tree with these disks; returns its root. */
function sysfs(root: string, disks: FakeDisk[]): string {
  const sys = path.join(root, 'sys');
  fs.mkdirSync(path.join(sys, 'block'), { recursive: true });
  for (const d of disks) {
    const parent = path.join(sys, 'devices', d.at);
    const node = d.at === 'virtual' ? path.join(sys, 'devices/virtual/block', d.name) : path.join(parent, d.at.includes('/nvme/') ? '' : 'block', d.name);
    const device = d.at === 'virtual' ? path.join(node, 'device-none') : path.join(node, 'device');
    fs.mkdirSync(device, { recursive: true });
    fs.writeFileSync(path.join(node, 'size'), `${d.sectors ?? 0}\n`);
    fs.writeFileSync(path.join(node, 'removable'), `${d.removable ?? 0}\n`);
    fs.writeFileSync(path.join(node, 'ro'), `${d.ro ?? 0}\n`);
    if (d.mmcType) {
      fs.writeFileSync(path.join(device, 'type'), `${d.mmcType}\n`);
      fs.writeFileSync(path.join(device, 'name'), `${d.model}\n`);
    } else if (d.model) fs.writeFileSync(path.join(device, 'model'), `${d.model}   \n`);
    fs.symlinkSync(path.relative(path.join(sys, 'block'), node), path.join(sys, 'block', d.name));
  }
  return sys;
}

describe.each(SHELLS)('disk detection under %s', (_name, shell) => {
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-disks-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const run = (disks: FakeDisk[], script: string, mounts = '') => {
    const root = fs.mkdtempSync(path.join(tmp, 'pc-'));
    const sys = sysfs(root, disks);
    fs.writeFileSync(path.join(root, 'mounts'), mounts);
    return callAgent(shell, script, { env: { CLONAGE_SYS_DIR: sys, CLONAGE_MOUNTS: path.join(root, 'mounts') } });
  };
  const detect = (disks: FakeDisk[], mounts = '') => run(disks, 'detect_disk', mounts).stdout.trim();

  it.each<[string, FakeDisk[], string]>([
    ['NVMe before SATA, whatever the listing order', [PC.sata, PC.usbKey, PC.nvme, PC.dvd, PC.loop], 'nvme0n1'],
    ['SATA when there is no NVMe, USB disks left aside', [PC.usbDisk, PC.usbKey, PC.sata2, PC.sata, PC.dvd], 'sda'],
    ['an empty card reader slot and a read-only disk are skipped', [PC.cardReader, PC.readOnly, PC.sata2], 'sdb'],
    ['virtio (a VM)', [PC.usbKey, PC.virtio, PC.zram], 'vda'],
    ['eMMC, never its boot areas nor an SD card', [PC.sdCard, PC.emmcBoot, PC.emmc, PC.usbKey], 'mmcblk0'],
    ['SATA before eMMC', [PC.emmc, PC.sata2], 'sdb'],
    ['nothing fixed: no disk', [PC.usbKey, PC.usbDisk, PC.sdCard, PC.dvd, PC.loop], ''],
  ])('detect_disk: %s', (_what, disks, expected) => {
    expect(detect(disks)).toBe(expected);
  });

  it('a disk with a mounted partition (the medium the environment runs from) is never chosen', () => {
    expect(detect([PC.nvme, PC.sata], '/dev/nvme0n1p2 /run/live ext4 ro 0 0\n')).toBe('sda');
    expect(detect([PC.nvme, PC.sata], '/dev/sda1 /mnt vfat ro 0 0\n')).toBe('nvme0n1');
  });

  it('disk_bus and disk_summary from the sysfs path and attributes', () => {
    const out = run(Object.values(PC), 'for d in nvme0n1 sda sdc vda mmcblk0 loop0; do echo "$d: $(disk_summary "$d")"; done').stdout.trim().split('\n');
    expect(out).toEqual([
      'nvme0n1: nvme, Samsung SSD 980 500GB, 500107862016 bytes',
      'sda: sata, ST1000DM010-2EP102, 1000204886016 bytes',
      'sdc: usb, Ultra USB 3.0, 30752636928 bytes',
      'vda: virtio, unknown, 67108864 bytes',
      'mmcblk0: mmc, DA4064, 62537072640 bytes',
      'loop0: other, unknown, 104857600 bytes',
    ]);
  });

  it('resolve_disk: a named disk is kept; none named takes the detected one and says so', () => {
    const out = run([PC.sata, PC.nvme], `J_ROLE=receiver J_DISK=sdb; resolve_disk; echo "$J_DISK|$DISK_NOTE"
J_DISK=; resolve_disk; echo "$J_DISK|$DISK_NOTE"
J_ROLE=report J_DISK=; resolve_disk; echo "report:$J_DISK"`).stdout.trim().split('\n');
    expect(out).toEqual(['sdb|', 'nvme0n1|chosen automatically: nvme, Samsung SSD 980 500GB, 500107862016 bytes', 'report:']);
  });

  it('resolve_disk: no fixed disk fails with EXIT_NO_DISK and names why each disk was left aside', () => {
    const out = run([PC.usbKey, PC.sdCard, PC.cardReader], 'J_ROLE=backup J_DISK=; resolve_disk; echo "rc=$? disk=$J_DISK"; echo "$FAIL_MSG"').stdout.trim().split('\n');
    expect(out[0]).toBe('rc=4 disk=');
    expect(out[1]).toBe('no fixed disk found to work on (NVMe, SATA, virtio, eMMC; USB and removable disks are never chosen): mmcblk1: an SD card; sdc: removable; sde: empty (size 0);');
  });

  it('the report gives every disk with its bus, model, size and table type, and marks the one a job would take', () => {
    const out = run([PC.nvme, PC.usbKey], 'AUTO_DISK=$(detect_disk); for d in $(list_disks); do echo "### disk $d"; disk_report_lines "$d"; [ "$d" != "$AUTO_DISK" ] || echo auto=yes; done').stdout.trim();
    expect(out.split('\n')).toEqual(['### disk nvme0n1', 'bus=nvme', 'model=Samsung SSD 980 500GB', 'removable=0', 'auto=yes',
      '### disk sdc', 'bus=usb', 'model=Ultra USB 3.0', 'removable=1']);
  });
});
