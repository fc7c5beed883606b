// A private Redis Cluster (3 masters + 3 replicas of Debian's redis-server) for one test file, which moves slots, kills
// masters and brings killed nodes back on demand. Plain JS, shared with `npm run demo -- --cluster`.
export { RedisCluster } from '../../scripts/lib/redis-cluster.mjs';
