// Effectful (writes files). `npm run build:cli`: bundles the `warden` CLI (core/cli/main.ts and
// everything it imports) with esbuild into out/cli/warden.js, one ES module, with the packages
// in node_modules left outside. core/cli/warden.js runs it instead of the TypeScript sources
// while it is fresh: out/cli/inputs.json lists the source files it was built from.
// NB: out/cli/ is as deep as core/cli/, so paths the CLI derives from its own location
// (the repository root, warden.js for node processes) hold in the bundle too.

import { renameSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { ESM_REQUIRE_BANNER, REPO_ROOT, buildErrorLine } from './esbuildShared.ts';

export { REPO_ROOT };

/** CLI_BUNDLE_DIR is where `npm run build:cli` writes warden.js and inputs.json. */
export const CLI_BUNDLE_DIR = join(REPO_ROOT, 'out', 'cli');


/** CliBundle names what was written. */
export interface CliBundle {
  readonly file: string;
  /** Source files (relative to the repository root) the bundle was built from. */
  readonly inputs: readonly string[];
}

/**
 * bundleCli writes outDir/warden.js and outDir/inputs.json. Each is written to a temporary name
 * and renamed, so a `warden` process starting meanwhile sees the old bundle or the new one,
 * never half of one (inputs.json goes last: until then the bundle counts as stale).
 */
export async function bundleCli(outDir: string = CLI_BUNDLE_DIR): Promise<CliBundle> {
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, 'warden.js');
  const result = await build({
    entryPoints: [join(REPO_ROOT, 'core/cli/main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    banner: { js: ESM_REQUIRE_BANNER },
    legalComments: 'none',
    logLevel: 'silent',
    metafile: true,
    write: false,
  });
  const inputs = Object.keys(result.metafile.inputs)
    .map((input) => relative(REPO_ROOT, resolve(REPO_ROOT, input)).split('\\').join('/'))
    .sort();
  for (const output of result.outputFiles) {
    const temp = `${output.path}.${process.pid}.tmp`;
    writeFileSync(temp, output.contents);
    renameSync(temp, output.path);
  }
  const list = join(outDir, 'inputs.json');
  writeFileSync(`${list}.${process.pid}.tmp`, `${JSON.stringify(inputs, null, 1)}\n`);
  renameSync(`${list}.${process.pid}.tmp`, list);
  return { file, inputs };
}

async function runFromCommandLine(): Promise<void> {
  try {
    const out = await bundleCli();
    process.stdout.write(`wrote ${relative(REPO_ROOT, out.file)} (${out.inputs.length} source files)\n`);
  } catch (err) {
    process.stderr.write(`build:cli: ${buildErrorLine(err)}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await runFromCommandLine();
