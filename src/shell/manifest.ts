import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import type { ModuleManifest } from '../host/contract';
import { InputError } from '../common/domain/errors';
import schema from '../host/module-manifest.schema.json';

const validate = new Ajv({ allErrors: true }).compile(schema);

/** Reads and validates `<root>/module.json` against the manifest schema; errors name the field. */
export function readManifest(moduleRoot: string): ModuleManifest {
  const file = path.join(moduleRoot, 'module.json');
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: ${(e as Error).message}`);
  }
  return parseManifest(data, file);
}

export function parseManifest(data: unknown, source = 'module.json'): ModuleManifest {
  if (!validate(data)) {
    const why = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
    throw new InputError(`${source} is not a valid module manifest: ${why}`);
  }
  const m = data as unknown as ModuleManifest;
  const paths = m.menu.map((e) => e.path);
  if (new Set(paths).size !== paths.length) throw new InputError(`${source}: menu paths must be unique`);
  for (const e of m.menu) {
    if (!m.rights.includes(e.right)) throw new InputError(`${source}: menu entry ${e.path} uses undeclared right ${e.right}`);
  }
  return m;
}

/**
 * Where to load a manifest path (`src/index`, `hooks/enable`) from: the compiled tree when the
 * shell runs compiled (npm start), the TypeScript source when it runs under jest.
 */
export function resolveModuleFile(moduleRoot: string, rel: string): string {
  const compiled = path.join(moduleRoot, 'dist', `${rel}.js`);
  if (__filename.endsWith('.js') && fs.existsSync(compiled)) return compiled;
  return path.join(moduleRoot, rel);
}
