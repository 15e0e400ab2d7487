// `npm run openapi`: writes docs/openapi.json from the route table and the handlers' schemas.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderOpenApi } from './document';

const OPENAPI_PATH = fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));

writeFileSync(OPENAPI_PATH, renderOpenApi());
console.log(`Wrote ${OPENAPI_PATH}`);
