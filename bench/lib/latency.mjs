// Records end-to-end latencies (now minus the send time stamped in the payload) in a preallocated buffer.
import { nowMs } from './payload.mjs';
import { percentile } from './stats.mjs';

export class LatencyRecorder {
  constructor(warmup = 0, capacity = 2_000_000) {
    this.warmup = warmup;
    this.samples = new Float64Array(capacity);
    this.length = 0;
  }

  /** `data` is a bench payload: `n` its sequence number, `t` its send time; the first `warmup` are not counted. */
  record(data) {
    const latency = nowMs() - data.t;
    if (data.n < this.warmup || this.length >= this.samples.length) return;
    this.samples[this.length++] = latency;
  }

  summary() {
    const sorted = this.samples.slice(0, this.length).sort();
    return {
      samples: sorted.length,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted.length ? sorted[sorted.length - 1] : NaN,
    };
  }
}
