/** Writes schema.sql from the migrations (run after adding one: `npm run schema:dump`). */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../src/paths';
import { dumpSchema } from '../src/store/schemaDump';

const file = path.join(projectRoot, 'schema.sql');
fs.writeFileSync(file, dumpSchema());
console.log(`wrote ${file}`);
