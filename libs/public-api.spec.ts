import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Plain JS, shared with `npm run api:report`, which rewrites the committed reports.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ENTRIES, report } = require('../scripts/api-report.js') as {
  ENTRIES: Array<{ name: string; report: string }>;
  report(entry: { name: string; report: string }): string;
};

describe('public API', () => {
  for (const entry of ENTRIES) {
    it(`of ${entry.name} is what docs/api/${entry.report}.api.txt records (npm run api:report after a deliberate change)`, () => {
      const recorded = readFileSync(join(__dirname, '..', 'docs', 'api', `${entry.report}.api.txt`), 'utf8');
      expect(report(entry)).toBe(recorded);
    });
  }
});
