// A write load for crash and partition tests: four workers put keys until stopped, and the keys
// whose put was acknowledged are what the member must still hold after the fault.
import { b64, type TestMember } from './test-cluster.js';

export interface WriteLoad {
  /** The keys acknowledged so far (grows while the load runs). */
  readonly acked: string[];
  /** Stops the workers and returns every acknowledged key. */
  stop(): Promise<string[]>;
}

/** Puts `<prefix>-<worker>-<i>` through `via()` (asked again for every put) until stopped. */
export function writeLoad(via: () => TestMember, options: { prefix: string; value: string; timeoutMs: number }): WriteLoad {
  const acked: string[] = [];
  let stopped = false;
  const workers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; !stopped; i++) {
      const key = `${options.prefix}-${w}-${i}`;
      try {
        const r = await via().api('/v3/kv/put', { key: b64(key), value: b64(options.value) }, options.timeoutMs);
        if (r.status === 200) acked.push(key);
      } catch {
        // Unknown outcome (connection cut, timeout): neither acknowledged nor counted.
      }
    }
  });
  return {
    acked,
    async stop(): Promise<string[]> {
      stopped = true;
      await Promise.all(workers);
      return acked;
    },
  };
}
