/**
 * Images laid out as a committed backup leaves them (a clonage_backups row, and for the server
 * store a folder with manifest.json and a part file): for the image library's page and API tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { TestShell } from './test-shell';

export function addImage(shell: TestShell, mac: string, name: string, image: string, createdAt: string, location = 'server'): number {
  const manifest = { format: 'clonage-image', version: 1, image, mac, machine: name, createdAt, disk: { name: 'sda', sizeBytes: 8e9, sectorSize: 512 },
    partitionTable: { label: 'dos' }, verifiedBy: location === 'server' ? 'server' : 'agent', storedBytes: 123456789 };
  if (location === 'server') {
    const dir = path.join(shell.dataDir, 'modules/clonage/images', mac.replace(/:/g, '-'), image);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(dir, 'p1.000'), 'DATA');
  }
  const info = shell.db.prepare(`INSERT INTO clonage_backups (mac, name, image, location, status, created_at, size_bytes, manifest_json, target_id)
    VALUES (?, ?, ?, ?, 'succeeded', ?, ?, ?, 'j_test')`).run(mac, name, image, location, createdAt, 123456789, JSON.stringify(manifest));
  return Number(info.lastInsertRowid);
}
