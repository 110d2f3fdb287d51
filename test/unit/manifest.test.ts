import fs from 'node:fs';
import path from 'node:path';
import { parseManifest, readManifest } from '../../src/shell/manifest';
import { InputError } from '../../src/common/domain/errors';

const ROOT = path.resolve(__dirname, '..', '..');
const good = () => JSON.parse(fs.readFileSync(path.join(ROOT, 'module.json'), 'utf8'));

describe('module.json', () => {
  test('the shipped manifest is valid and names the pieces the host needs', () => {
    const m = readManifest(ROOT);
    expect(m.id).toBe('clonage');
    expect(m.name).toBe('Clonage des stations');
    expect(m.requires).toEqual(['dhcp']);
    expect(Object.keys(m.hooks).sort()).toEqual(['disable', 'enable', 'install', 'uninstall']);
    for (const rel of [m.entry, ...Object.values(m.hooks)]) expect(fs.existsSync(path.join(ROOT, `${rel}.ts`))).toBe(true);
    const rights = new Set(m.menu.map((e) => e.right));
    expect(rights).toEqual(new Set(['parc_can_clone', 'system_is_admin']));
    expect(m.menu.find((e) => e.path === '/config')?.right).toBe('system_is_admin');
  });

  test('every menu entry has an EJS page in pages/', () => {
    // the route → view mapping is checked end to end in test/integration/shell.test.ts;
    // here: the page files the menu's routes render exist
    const views: Record<string, string> = { '/actions/new': 'wizard', '/actions': 'actions', '/reports': 'reports', '/images': 'images', '/schedules': 'schedules', '/tokens': 'tokens', '/config': 'config' };
    for (const e of readManifest(ROOT).menu) {
      expect(views[e.path]).toBeDefined();
      expect(fs.existsSync(path.join(ROOT, 'pages', `${views[e.path]}.ejs`))).toBe(true);
    }
  });

  test.each([
    ['missing id', (m: any) => delete m.id, /id/],
    ['bad id', (m: any) => (m.id = 'Clonage!'), /\/id/],
    ['unknown key', (m: any) => (m.extra = 1), /additional/],
    ['entry with ..', (m: any) => (m.entry = '../evil'), /\/entry/],
    ['menu path not absolute', (m: any) => (m.menu[0].path = 'actions'), /\/menu\/0\/path/],
    ['menu right undeclared', (m: any) => (m.menu[0].right = 'computers_is_admin'), /undeclared right/],
    ['duplicate menu path', (m: any) => (m.menu[1].path = m.menu[0].path), /unique/],
    ['hook not allowed', (m: any) => (m.hooks.upgrade = 'hooks/upgrade'), /additional/],
    ['bad version', (m: any) => (m.version = 'one'), /\/version/],
  ])('a manifest with %s is refused with a message naming the field', (_name, mutate, why) => {
    const m = good();
    mutate(m);
    expect(() => parseManifest(m)).toThrow(InputError);
    expect(() => parseManifest(m)).toThrow(why);
  });
});
