/**
 * Blocks the thread for `ms`: for the synchronous waits of a start or a command (a lock
 * another process holds), which have nothing else to do meanwhile. Never on a serving path.
 */
const cell = new Int32Array(new SharedArrayBuffer(4));

export function sleepSync(ms: number): void {
  Atomics.wait(cell, 0, 0, ms);
}
