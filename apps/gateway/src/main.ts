// Gateway: accepts mails and push notifications over HTTP and appends them to the Email and Push streams.
import { loadConfig, serverOptions } from '../../shared/app-config.js';
import { bootstrap, run } from '../../shared/bootstrap.js';
import { GatewayModule } from './gateway.module.js';

run('gateway', async () => {
  const config = loadConfig('gateway');
  // It consumes nothing; the microservice side only keeps the app a hybrid like the others, ready for handlers.
  await bootstrap(GatewayModule.forRoot(config), config, serverOptions(config));
});
