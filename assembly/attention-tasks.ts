// Parallel driver of the attention backward (assembly/attention.ts): the backward
// reuses one scratch region for all units of a call, so concurrent callers need
// separate regions. Task τ runs units [τ·unitsPerTask, (τ+1)·unitsPerTask) with the
// scratch region at scratch + τ·regionBytes, the way matmulPackedTasks gives each
// task its own A slot. Units are independent and the scratch contents on entry do
// not matter, so the bits never depend on the split.
import { attentionBackward, attentionScratchBytes } from "./attention";

/** Bytes between two tasks' scratch regions: one unit's scratch, rounded up to 256 bytes. */
export function attentionTaskScratchBytes(t: i32, hd: i32, groupSize: i32): usize {
  return (attentionScratchBytes(t, hd, groupSize) + 255) & ~(<usize>255);
}

export function attentionBackwardTasks(
  dq: usize, dk: usize, dv: usize, scratch: usize, dout: usize, out: usize, lse: usize, q: usize, k: usize, v: usize,
  b: i32, t: i32, heads: i32, kvHeads: i32, hd: i32, unitsPerTask: i32, taskStart: i32, taskEnd: i32,
): void {
  const units = b * kvHeads;
  const region = attentionTaskScratchBytes(t, hd, heads / kvHeads);
  for (let task = taskStart; task < taskEnd; task++) {
    const from = task * unitsPerTask;
    const to = min(units, from + unitsPerTask);
    if (from >= to) continue;
    attentionBackward(dq, dk, dv, scratch + (<usize>task) * region, dout, out, lse, q, k, v, b, t, heads, kvHeads, hd, from, to);
  }
}
