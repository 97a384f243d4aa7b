// The API report of every public entry point (API Extractor, as the Azure SDK keeps one):
// etc/<entry>.api.md in each package, from the built type declarations. `npm run api-report`
// fails when the public surface differs from the committed report (CI); with `--update` it
// writes the new report, to commit with the change that made it.
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const update = process.argv.includes('--update');

const ENTRIES = [
  { pkg: 'packages/entra-redis', dts: 'dist/index.d.ts', report: 'entra-redis' },
  {
    pkg: 'packages/entra-redis',
    dts: 'dist/node-redis/index.d.ts',
    report: 'entra-redis-node-redis',
  },
  { pkg: 'packages/entra-redis', dts: 'dist/ioredis/index.d.ts', report: 'entra-redis-ioredis' },
  { pkg: 'packages/emulator', dts: 'dist/index.d.ts', report: 'emulator' },
];

let failed = false;
for (const entry of ENTRIES) {
  const projectFolder = join(ROOT, entry.pkg);
  mkdirSync(join(projectFolder, 'etc'), { recursive: true });
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder,
      mainEntryPointFilePath: join(projectFolder, entry.dts),
      compiler: { tsconfigFilePath: join(ROOT, 'tsconfig.built.json') },
      apiReport: {
        enabled: true,
        reportFileName: `${entry.report}.api.md`,
        reportFolder: join(projectFolder, 'etc'),
        reportTempFolder: join(projectFolder, 'node_modules', '.api-report'),
      },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      // The report is the check; documentation and links are TypeDoc's (`npm run docs`), and
      // an adapter's entry refers to core types (TokenSource) without re-exporting them.
      messages: {
        extractorMessageReporting: { default: { logLevel: 'none' } },
        tsdocMessageReporting: { default: { logLevel: 'none' } },
      },
    },
    configObjectFullPath: join(projectFolder, 'api-extractor.json'),
    packageJsonFullPath: join(projectFolder, 'package.json'),
  });
  const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
  const ok = result.succeeded && result.warningCount === 0;
  if (!ok) failed = true;
  console.error(
    `[api-report] ${entry.report}: ${
      result.apiReportChanged
        ? update
          ? 'report updated'
          : 'THE PUBLIC API CHANGED: run `npm run api-report -- --update` and commit etc/*.api.md'
        : 'unchanged'
    }${result.warningCount ? `, ${result.warningCount} warnings` : ''}`,
  );
}
process.exit(failed ? 1 : 0);
