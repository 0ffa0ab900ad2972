// The liveness verdict at the end of a seed: has the cluster settled after the faults stopped?

import type { NodeId } from '../../src/raft/types.js';
import { inConf, type SimMember } from './sim-member.js';

/**
 * '' when converged: exactly one leader inside its own configuration, every member of that
 * configuration up and following it, applied up to the leader's commit (= its last index),
 * with the same state. Otherwise what is still wrong. `leader` is the highest-term leader.
 */
export function convergenceProblem(members: ReadonlyMap<NodeId, SimMember>, leader: SimMember | undefined): string {
  // Judge by the highest-term leader's configuration. A member removed while cut off may still
  // think it leads an old term (without CheckQuorum and PreVote nobody tells it otherwise);
  // it is outside the cluster and does not count, but two leaders inside it do.
  if (!leader) return 'no leader';
  const inside = [...members.values()].filter((m) => m.isLeader && inConf(leader.confState, m.id));
  if (inside.length !== 1) return `${inside.length} leaders inside the configuration`;
  const st = leader.raftStatus()!;
  if (st.commit !== st.lastIndex) return `leader ${leader.id} commit ${st.commit} < last ${st.lastIndex}`;
  const cs = leader.confState;
  if (!inConf(cs, leader.id)) return `leader ${leader.id} is not in its own configuration`;
  const state = leader.stateDigest();
  for (const id of [...cs.voters, ...cs.learners]) {
    const m = members.get(id)!;
    if (!m.isUp) return `${id} is ${m.status}`;
    if (m.paused) return `${id} is paused`;
    if (m.leader !== leader.id) return `${id} follows '${m.leader}' not ${leader.id}`;
    if (m.applied !== st.commit) return `${id} applied ${m.applied}, leader commit ${st.commit}`;
    if (m.stateDigest() !== state) return `${id} state differs from the leader's at ${m.applied}`;
  }
  return '';
}
