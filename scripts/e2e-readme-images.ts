/**
 * `npm run e2e:readme-images`: copies the card screenshots of the last browser end-to-end run
 * (`npm run test:e2e`, which writes test-output/e2e/) to docs/images/, where the README shows them.
 */
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const FROM = path.join(ROOT, 'test-output', 'e2e');
const TO = path.join(ROOT, 'docs', 'images');
const IMAGES = ['approval-card.png', 'result-card.png', 'delete-card.png', 'failed-card.png'];

const missing = IMAGES.filter((name) => !fs.existsSync(path.join(FROM, name)));
if (missing.length > 0) {
  process.stderr.write(`No ${missing.join(', ')} in ${FROM}: run "npm run test:e2e" first.\n`);
  process.exit(1);
}
fs.mkdirSync(TO, { recursive: true });
for (const name of IMAGES) {
  fs.copyFileSync(path.join(FROM, name), path.join(TO, name));
  process.stdout.write(`${path.relative(ROOT, path.join(TO, name))}\n`);
}
