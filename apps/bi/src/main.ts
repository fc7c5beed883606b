// BI service: group BIGroup over Email and Push (exactly-once counters), plus a broadcast feed of both streams to a
// live dashboard at /dashboard (every BI instance sees every entry).
import { loadConfig, serverOptions } from '../../shared/app-config.js';
import { bootstrap, run } from '../../shared/bootstrap.js';
import { GROUPS } from '../../shared/redis-keys.js';
import { BiModule } from './bi.module.js';

run('bi', async () => {
  const config = loadConfig('bi');
  await bootstrap(BiModule.forRoot(config), config, serverOptions(config, GROUPS.bi));
});
