/**
 * Jest transformer: TypeScript to CommonJS with esbuild, types stripped, no type check (tsc
 * --noEmit checks them beside jest: scripts/run-tests.js --typecheck). ts-jest spent about 40 %
 * of the unit tier's CPU in TypeScript's own transpiler; esbuild does the same per-file work
 * (the code is written for isolatedModules) in a few milliseconds. Inline source maps keep
 * stack traces on the .ts lines.
 */
const { transformSync } = require('esbuild');
const { createHash } = require('node:crypto');
const { version } = require('esbuild/package.json');

module.exports = {
  process(source, filename) {
    const { code, map } = transformSync(source, {
      loader: 'ts',
      format: 'cjs',
      target: 'node20',
      sourcemap: true,
      sourcefile: filename,
    });
    return { code, map };
  },
  getCacheKey(source, filename) {
    return createHash('sha256').update(version).update('\0').update(filename).update('\0').update(source).digest('hex');
  },
};
