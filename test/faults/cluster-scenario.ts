// A seed's scenario on a Redis Cluster (`npm run test:faults -- --cluster`): the same draw as on one redis-server,
// adapted. A `restart` of the one server becomes a `failover` (the stream's master killed -9, its replica promoted,
// the killed node back as a replica after the drawn downtime); every other fault applies as it is. Then the schedule
// gets a reshard and a failover while entries flow, where the draw has none. These come from a second generator
// seeded from the seed, so that the scenario's other draws stay those of the standalone run. A partitioned seed gets the
// failover of a partition's master and a reshard of a partition's slot too (partition-scenario.ts).
import { seededRandom } from '../chaos/chaos-faults.js';
import { partitionedOnCluster } from './partition-scenario.js';
import type { PlannedFault, Scenario } from './scenario.js';

export function onCluster(s: Scenario): Scenario {
  const random = seededRandom(s.seed ^ 0x5c1a57e2);
  const faults: PlannedFault[] = s.faults.map((f) => (f.kind === 'restart' ? { ...f, kind: 'failover' } : f));
  // Early enough in production that entries still flow when they run: both wait for the other Redis faults, and a
  // failover takes several seconds on a loaded machine.
  const windows = { reshard: [0.1, 0.5], failover: [0.3, 0.7] } as const;
  for (const kind of ['failover', 'reshard'] as const) {
    if (faults.some((f) => f.kind === kind)) continue;
    const [from, to] = windows[kind];
    const at = Math.round(s.productionMs * (from + (to - from) * random()));
    faults.push({ kind, at, target: 0, ms: Math.floor(random() * 3000), pick: random() });
  }
  faults.sort((a, b) => a.at - b.at);
  const partitioned = s.partitioned && partitionedOnCluster(s.seed, s.partitioned, s.productionMs);
  return { ...s, cluster: true, faults, partitioned };
}
