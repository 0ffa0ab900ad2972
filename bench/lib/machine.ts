// The machine a result came from: a benchmark figure without it means little.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

/** Cores, memory, disk, versions and date of a benchmark run. */
export interface MachineInfo {
  readonly date: string;
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** Device, file system, size and whether it is rotational, for the work directory. */
  readonly disk: string;
  readonly kernel: string;
  readonly node: string;
  readonly etcd?: string;
}

/** Describes this machine; `workDir` decides which disk is reported. */
export function describeMachine(workDir: string, etcd: string | undefined): MachineInfo {
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    disk: describeDisk(workDir),
    kernel: `Linux ${release()}`,
    node: process.version,
    ...(etcd ? { etcd } : {}),
  };
}

function describeDisk(path: string): string {
  try {
    const [source, fstype, size] = execFileSync('df', ['--output=source,fstype,size', '-h', path], { encoding: 'utf8' })
      .trim().split('\n')[1]!.trim().split(/\s+/);
    const device = /^\/dev\/([a-z]+)/.exec(source ?? '')?.[1];
    let kind = '';
    if (device?.startsWith('vd')) {
      // A virtio disk reports itself rotational whatever backs it: say what it is instead.
      kind = ', virtio block device';
    } else if (device) {
      const rotational = readFileSync(`/sys/block/${device}/queue/rotational`, 'utf8').trim();
      kind = rotational === '1' ? ', rotational' : ', non-rotational';
    }
    return `${source} ${fstype} ${size}${kind}`;
  } catch {
    return 'unknown';
  }
}

/** One line for the table's header. */
export function machineLine(m: MachineInfo): string {
  return `${m.date} | ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB RAM, disk ${m.disk} | ${m.kernel}, Node ${m.node}${m.etcd ? `, etcd ${m.etcd}` : ''}`;
}
