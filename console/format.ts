/**
 * Formatting for people: relative times, durations, sizes, capability summaries.
 */
import type { Cluster, ProgressCounts } from './types.ts';

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago"; the date itself for older ones. */
export function ago(iso: string | undefined, now: number = Date.now()): string {
  if (!iso) return '—';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.max(0, Math.round((now - then) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  if (seconds < 30 * 86_400) return `${Math.floor(seconds / 86_400)} d ago`;
  return iso.slice(0, 10);
}

/** "850 ms", "12.4 s", "3 min 5 s", "1 h 2 min". */
export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** Milliseconds between two instants (to now when `end` is absent). */
export function between(start: string, end?: string, now: number = Date.now()): number {
  return (end ? Date.parse(end) : now) - Date.parse(start);
}

/** "512 MiB", "31.4 GiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** What a cluster offers, as short words: architectures, accelerators, nodes, CPU, memory. */
export function capabilityWords(capabilities: Cluster['capabilities']): string[] {
  const words = [...capabilities.architectures];
  if (capabilities.gpu) words.push('GPU');
  if (capabilities.sriov) words.push('SR-IOV');
  if (capabilities.hugepages) words.push('hugepages');
  if (capabilities.avx512) words.push('AVX-512');
  if (capabilities.nodes > 0) words.push(`${capabilities.nodes} node${capabilities.nodes === 1 ? '' : 's'}`);
  if (capabilities.cpu > 0) words.push(`${Number(capabilities.cpu.toFixed(1))} CPU`);
  if (capabilities.memoryBytes > 0) words.push(bytes(capabilities.memoryBytes));
  return words;
}

/** Plural helper: "1 cluster", "3 clusters". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

/** "11 succeeded, 1 failed, 3 pending of 15": an execution's counts in one line. */
export function countsLine(counts: ProgressCounts): string {
  const parts = [`${counts.succeeded} succeeded`];
  if (counts.failed > 0) parts.push(`${counts.failed} failed`);
  if (counts.progressing > 0) parts.push(`${counts.progressing} progressing`);
  if (counts.pending > 0) parts.push(`${counts.pending} pending`);
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  return `${parts.join(', ')} of ${counts.total}`;
}

/** "Wave 2" for a wave the planner named itself (`wave-N`), "Wave 2 · canary" otherwise. */
export function waveTitle(position: number, index: number, name: string, word = 'Wave'): string {
  return `${word} ${position + 1}${name && name !== `wave-${index + 1}` ? ` · ${name}` : ''}`;
}
