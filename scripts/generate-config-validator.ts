/** `npm run generate:config-validator`: writes the config schema's standalone validator. */
import fs from 'node:fs';
import path from 'node:path';
import { GENERATED_FILE, generateConfigValidator } from './config-validator/generate';

const file = path.resolve(__dirname, '..', GENERATED_FILE);
fs.writeFileSync(file, generateConfigValidator());
console.log(`wrote ${GENERATED_FILE}`);
