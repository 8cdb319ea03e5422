// CPU time a process has used (all its threads: a serve process's uWS threads,
// front door and pixel workers are worker threads of one process), from Linux's
// /proc/PID/stat; undefined where there is no /proc. With the wall time of a run
// it says how many cores the process kept busy, and CPU per tile says what a tile
// costs whatever the machine's contention.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let ticks;
function clockTicks() {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** Seconds of user + system CPU process `pid` has used so far, or undefined. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from its closing one
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks(); // utime, stime: fields 14, 15
  } catch {
    return undefined;
  }
}

/** Seconds of CPU this process has used (all its threads). */
export const ownCpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
