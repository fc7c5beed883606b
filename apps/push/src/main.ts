// Push service: group NotificationServiceGroup on streams Push and Email (a notification for each mail too).
import { loadConfig, serverOptions } from '../../shared/app-config.js';
import { bootstrap, run } from '../../shared/bootstrap.js';
import { GROUPS } from '../../shared/redis-keys.js';
import { PushModule } from './push.module.js';

run('push', async () => {
  const config = loadConfig('push');
  await bootstrap(PushModule.forRoot(config), config, serverOptions(config, GROUPS.notification));
});
