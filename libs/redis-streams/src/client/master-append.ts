// A durable emit's XADD on a cluster, sent on the connection of the master that stores it, so that its WAIT can go to
// that same connection: the ioredis Cluster follows MOVED and ASK by itself and never says which node ran a command.
import type { Cluster, Redis } from 'ioredis';
import { keySlot } from '../cluster/key-slot.js';
import { connectionHistory } from '../redis/connection-epoch.js';
import { sendCorked } from '../redis/corked-send.js';
import { withTimeout } from '../server/with-timeout.js';
import { EmitNotRoutedError } from '../errors/emit-not-routed.error.js';

/** An XADD's answer and the connection that ran it: where its WAIT must go. */
export interface Appended {
  id: string;
  connection: Redis;
  /** The connection's `closes` when the answer came (`connectionHistory`): its WAIT must be answered on that socket. */
  epoch: number;
}

/** How long an XADD keeps being re-routed while the cluster's topology changes (reshard, failover), in ms. */
const REROUTE_WINDOW_MS = 10_000;
/** The pause before asking a node again after an error that no redirect came with (failover, CLUSTERDOWN), in ms. */
const REROUTE_DELAY_MS = 100;
/** The longest wait for one refresh of the slot map, in ms. */
const REFRESH_TIMEOUT_MS = 2000;

/** Errors after which the XADD did not run on the node that answered, so sending it elsewhere adds no entry. */
const NOT_RUN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|READONLY|LOADING|MASTERDOWN) /;

/** Where a MOVED or ASK answer sends the command. */
interface Redirect {
  address: string;
  asking: boolean;
}

/**
 * Appends `args` (XADD's arguments after the key) to `key` on the master serving its slot, on that master's own
 * connection. MOVED follows the new owner; ASK (the slot migrating, the key already moved) sends ASKING and the XADD
 * to the target; errors that say the command did not run (CLUSTERDOWN, READONLY after a failover…) refresh the slot
 * map and try again, within REROUTE_WINDOW_MS. A node connection that closes under an XADD already sent fails the
 * emit: the entry may or may not be stored, and writing it again elsewhere would store it twice.
 */
export async function appendOnMaster(cluster: Cluster, key: string, args: (string | number)[]): Promise<Appended> {
  const slot = keySlot(key);
  const deadline = Date.now() + REROUTE_WINDOW_MS;
  let redirect: Redirect | undefined;
  for (;;) {
    const node = redirect ? nodeAt(cluster, redirect.address) : masterOf(cluster, slot);
    let failure: unknown = new Error(`no master is known for slot ${slot} (cluster topology changing)`);
    if (node) {
      const live = node.status === 'ready';
      const history = connectionHistory(node);
      const readies = history.readies;
      try {
        // One after the other in one tick: nothing else reaches this connection between ASKING and the XADD.
        if (redirect?.asking) node.asking().catch(() => undefined); // if it failed, the XADD answers MOVED or ASK
        const id = await sendCorked<string>(node, 'xadd', [key, ...args]);
        return { id, connection: node, epoch: history.closes };
      } catch (err) {
        failure = err;
        redirect = redirectOf(err);
        // Queued while the node was not connected, and flushed before it ever was: never sent, so sending it
        // elsewhere adds nothing.
        const neverSent = !live && history.readies === readies;
        if (!redirect && !NOT_RUN.test(messageOf(err)) && !neverSent) throw err;
      }
    }
    if (Date.now() >= deadline) throw new EmitNotRoutedError(key, slot, REROUTE_WINDOW_MS, failure);
    if (!redirect || !nodeAt(cluster, redirect.address)) {
      redirect = undefined;
      await new Promise((resolve) => setTimeout(resolve, REROUTE_DELAY_MS));
      await refreshSlots(cluster);
    } else if (!redirect.asking) {
      refreshSlots(cluster).catch(() => undefined); // MOVED: the cluster's own slot map is stale too
    }
  }
}

/** The master now serving `slot`, as the cluster's slot map has it. */
function masterOf(cluster: Cluster, slot: number): Redis | undefined {
  const [master] = cluster.slots[slot] ?? [];
  return master === undefined ? undefined : nodeAt(cluster, master);
}

/** The cluster's connection to the node at `address` (`host:port`), if it has one. */
function nodeAt(cluster: Cluster, address: string): Redis | undefined {
  return cluster.nodes('all').find(({ options }) => `${options.host}:${options.port}` === address);
}

function redirectOf(err: unknown): Redirect | undefined {
  const match = /^(MOVED|ASK) \d+ (\S+)/.exec(messageOf(err));
  return match ? { address: match[2], asking: match[1] === 'ASK' } : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Asks the cluster for its slot map again (several callers share one refresh); bounded, never rejects. */
async function refreshSlots(cluster: Cluster): Promise<void> {
  await withTimeout(new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve())), REFRESH_TIMEOUT_MS);
}
