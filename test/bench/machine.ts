// Effectful. Describes the machine a benchmark ran on, so figures are quoted with their context.

import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';

/** machineLine is one line: CPU model and count, memory, load, Node version. */
export function machineLine(): string {
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? 'unknown CPU';
  const gib = (n: number): string => `${(n / 2 ** 30).toFixed(1)} GiB`;
  return `${cpu.length} x ${model}, ${gib(totalmem())} RAM (${gib(freemem())} free), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}, Node ${process.version}, ${process.platform}/${process.arch}`;
}

/** percentile of a sorted array (nearest rank). */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** median of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return percentile(sorted, 0.5);
}

/**
 * processCpuMs is the CPU time (user + system) a process has used so far, from /proc (Linux), or
 * null where that cannot be read. CPU per operation moves far less with the machine's other
 * load than operations per second do, so it shows what a change costs on a noisy machine.
 */
export function processCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // NB: fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : null;
  } catch {
    return null;
  }
}
