import { ClusterNotSettledError } from '../errors/cluster-not-settled.error.js';
import { ClusterSettling, isSettlingError } from './cluster-settling.js';

const quiet = { log: () => undefined, error: () => undefined, warn: () => undefined };

describe('waiting for a settling cluster', () => {
  it.each([
    ['Too many Cluster redirections. Last error: ReplyError: MOVED 9688 127.0.0.1:29221', true],
    ['CLUSTERDOWN The cluster is down', true],
    ['TRYAGAIN Multiple keys request during rehashing of slot', true],
    ['Failed to refresh slots cache.', true],
    ['NOGROUP No such key or consumer group', false],
    ['WRONGPASS invalid username-password pair', false],
  ])('tells whether %j is a cluster settling', (message, settling) => {
    expect(isSettlingError(new Error(message))).toBe(settling);
  });

  it('retries a step while the cluster settles, and returns what it returns', async () => {
    let calls = 0;
    const warnings: string[] = [];
    const settling = new ClusterSettling(5000, { ...quiet, warn: (m: string) => void warnings.push(m) });
    const result = await settling.run('creating group G', () => {
      calls++;
      if (calls < 3) return Promise.reject(new Error('CLUSTERDOWN The cluster is down'));
      return Promise.resolve('created');
    });
    expect({ result, calls }).toEqual({ result: 'created', calls: 3 });
    expect(warnings).toEqual([expect.stringMatching(/settling \(CLUSTERDOWN.*while creating group G; retrying/)]);
  });

  it('fails with ClusterNotSettledError after its bound, and at once on other errors', async () => {
    const settling = new ClusterSettling(300, quiet);
    const down = settling.run('taking partition leases', () => Promise.reject(new Error('CLUSTERDOWN down')));
    await expect(down).rejects.toBeInstanceOf(ClusterNotSettledError);
    await expect(down).rejects.toThrow(/within 300 ms while taking partition leases: CLUSTERDOWN down.*settleTimeout/);
    const other = new Error('NOPERM this user has no permissions');
    await expect(new ClusterSettling(5000, quiet).run('x', () => Promise.reject(other))).rejects.toBe(other);
    const off = new Error('CLUSTERDOWN down');
    await expect(new ClusterSettling(0, quiet).run('x', () => Promise.reject(off))).rejects.toBe(off);
  });
});
