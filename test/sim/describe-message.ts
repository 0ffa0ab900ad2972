// One line per message for the readable trace of `npm run sim -- --seed S --verbose`.

import type { Message } from '../../src/raft/types.js';

/** "01->02 App t3 log 2/7 commit 7 entries [8..9]": the fields that matter for reading a trace. */
export function describeMessage(m: Message): string {
  const parts = [`${m.from.slice(-2)}->${m.to.slice(-2)} ${m.type} t${m.term}`];
  if (m.logTerm || m.index) parts.push(`log ${m.logTerm}/${m.index}`);
  if (m.commit) parts.push(`commit ${m.commit}`);
  if (m.entries.length) parts.push(`entries [${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}]`);
  if (m.reject) parts.push(`reject hint ${m.rejectHint}`);
  if (m.snapshot) parts.push(`snapshot ${m.snapshot.metadata.index}/${m.snapshot.metadata.term}`);
  return parts.join(' ');
}
