// `node --import tsx bundle-build-child.ts <dir>` (started by bundle-build.ts): the stage's
// synth with CDK's own bundling, as `npm start -- --bundled` runs it, and the map of each
// function to its bundle, renamed into place so a reader never sees half of it.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { synthFunctionBundles } from '../../dev/local/function-bundles';
import { BUNDLES_FILE, TEST_STAGE } from './bundle-build';

const dir = process.argv[2];
if (!dir) throw new Error('usage: bundle-build-child.ts <dir>');
const bundles = synthFunctionBundles({ stage: TEST_STAGE, outdir: join(dir, 'cdk.out') });
writeFileSync(join(dir, `${BUNDLES_FILE}.partial`), JSON.stringify(bundles));
renameSync(join(dir, `${BUNDLES_FILE}.partial`), join(dir, BUNDLES_FILE));
