/**
 * The toolkit registry reads the toolkits folder once and keeps it (every iPXE script asks for
 * the installed toolkits: no manifest read per PC boot, issue 15); refresh() — called by the
 * installer's change hook and by the readiness checks — reads it again.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ToolkitRegistry } from '../../src/toolkits/toolkit-registry';

describe('toolkit registry cache', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clonage-registry-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const install = (name: string) => {
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'vmlinuz'), 'K');
    fs.writeFileSync(path.join(dir, name, 'initrd.img'), 'I');
  };

  it('answers from memory after the first read, and from disk again after refresh()', () => {
    install('clonage');
    const registry = new ToolkitRegistry(dir);
    expect(registry.installedEntries()).toEqual({ clonage: ['sender', 'receiver', 'report', 'shell'] });
    install('sysrescue');
    fs.rmSync(path.join(dir, 'clonage'), { recursive: true });
    const readdir = jest.spyOn(fs, 'readdirSync');
    const exists = jest.spyOn(fs, 'existsSync');
    try {
      expect(Object.keys(registry.installedEntries())).toEqual(['clonage']);
      expect(registry.get('clonage')?.runsJobs).toBe(true);
      expect(readdir).not.toHaveBeenCalled();
      expect(exists).not.toHaveBeenCalled();
    } finally {
      readdir.mockRestore();
      exists.mockRestore();
    }
    expect(registry.refresh().map((t) => t.name)).toEqual(['sysrescue']);
    expect(Object.keys(registry.installedEntries())).toEqual(['sysrescue']);
  });

  it('hands out copies: a caller cannot change what the next one reads', () => {
    const registry = new ToolkitRegistry(dir);
    registry.list().pop();
    expect(registry.list().map((t) => t.name)).toEqual(['sysrescue']);
  });
});
