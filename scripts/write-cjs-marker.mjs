// The library's package.json says "type": "module"; the CommonJS build needs its own marker so Node loads it as CJS.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

writeFileSync(join(process.argv[2], 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');
