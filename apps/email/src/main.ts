// Email service: group EmailServiceGroup on stream Email. Run several replicas; each mail is sent by one of them.
import { loadConfig, serverOptions } from '../../shared/app-config.js';
import { bootstrap, run } from '../../shared/bootstrap.js';
import { GROUPS } from '../../shared/redis-keys.js';
import { EmailModule } from './email.module.js';

run('email', async () => {
  const config = loadConfig('email');
  await bootstrap(EmailModule.forRoot(config), config, serverOptions(config, GROUPS.email));
});
