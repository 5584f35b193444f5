// Linearizability checker for recorded client histories: Wing & Gong's backtracking search with
// Lowe's memoisation (the approach popularised by Porcupine), generic over a sequential model,
// plus a per-key register/KV model for the Raft simulator. Pure: no I/O, clocks or randomness;
// the same history always yields the same verdict and explanation.

/**
 * One completed (or abandoned) client request, as recorded by the harness. The checker decides
 * whether a set of these could have been produced by some sequential execution that respects
 * real-time order.
 */
export interface Operation<Input, Output> {
  readonly clientId: number;
  readonly input: Input;
  /** Invocation time (any monotone number; virtual ms in the simulator). */
  readonly call: number;
  /** Completion time; Infinity when the outcome is unknown. */
  readonly ret: number;
  /**
   * The answer the client saw; undefined when the outcome is unknown (e.g. a timeout). An unknown
   * operation may take effect at any point after its call, or never, regardless of `ret`.
   */
  readonly output: Output | undefined;
}

/**
 * A sequential specification: what a single correct copy of the service would do. Keeping it
 * abstract lets the same search check registers, queues, lock tables, etc.
 */
export interface Model<State, Input, Output> {
  init(): State;
  /** Apply input to state; return whether `output` is a legal answer, and the next state. */
  step(state: State, input: Input, output: Output): { ok: boolean; state: State };
  /**
   * State after an operation whose answer was never seen took effect. Required only when the
   * history contains operations with `output === undefined`; must not fail (the model computes
   * its own answer).
   */
  stepUnknown?(state: State, input: Input): State;
  /** Split a history into independent sub-histories (P-compositionality), e.g. per key. Optional. */
  partition?(ops: readonly Operation<Input, Output>[]): Operation<Input, Output>[][];
  /** Equality/hash of states for memoisation. */
  hash(state: State): string;
  describe?(input: Input, output: Output | undefined): string;
}

/**
 * Verdict of {@link checkOperations}. `partition` indexes the sub-history (from
 * `model.partition`, or 0) that failed or ran out of budget, so callers can report just that part.
 */
export type CheckResult =
  | { ok: true; explored: number }
  | { ok: false; partition: number; explored: number; explanation: string }
  | { ok: 'unknown'; partition: number; explored: number; reason: 'budget' };

/** Tuning knobs for {@link checkOperations}; kept as an object so more can be added compatibly. */
export interface CheckOptions {
  /** Maximum number of model steps attempted over the whole check before giving up with 'unknown'. */
  maxExplored?: number;
}

/** Default step budget: large enough for realistic simulator runs, small enough to never hang CI. */
export const DEFAULT_MAX_EXPLORED = 2_000_000;

/**
 * Decide whether `ops` is linearizable with respect to `model`. Exact (no false positives or
 * negatives) unless the step budget is exhausted, in which case the answer is 'unknown'.
 * Operations whose times are equal are treated as overlapping (the permissive choice).
 */
export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult {
  const maxExplored = options.maxExplored ?? DEFAULT_MAX_EXPLORED;
  for (const op of ops) validateOperation(model, op);
  const partitions = model.partition ? model.partition(ops) : [ops.slice()];
  let explored = 0;
  for (let p = 0; p < partitions.length; p++) {
    const part = partitions[p] ?? [];
    const result = checkPartition(model, part, maxExplored - explored);
    explored += result.explored;
    if (result.kind === 'fail') {
      return {
        ok: false,
        partition: p,
        explored,
        explanation: `partition ${p} (${part.length} ops) is not linearizable.\n${result.explanation}`,
      };
    }
    if (result.kind === 'budget') return { ok: 'unknown', partition: p, explored, reason: 'budget' };
  }
  return { ok: true, explored };
}

function validateOperation<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): void {
  if (!Number.isFinite(op.call)) throw new RangeError(`operation call time must be finite, got ${op.call}`);
  if (Number.isNaN(op.ret) || op.ret < op.call) {
    throw new RangeError(`operation return time ${op.ret} precedes its call time ${op.call}`);
  }
  if (op.output === undefined && model.stepUnknown === undefined) {
    throw new TypeError('history contains an operation with unknown outcome but the model has no stepUnknown');
  }
}

type PartitionResult =
  | { kind: 'ok'; explored: number }
  | { kind: 'fail'; explored: number; explanation: string }
  | { kind: 'budget'; explored: number };

interface Snapshot<S> {
  /** Operation indices in linearization order. */
  prefix: number[];
  state: S;
  /** Operations whose call was pending when the search got stuck (could have gone next). */
  candidates: number[];
  /** Operation whose return was reached before it could be linearized, if any. */
  blocking: number | undefined;
}

const NIL = -1;
const HEAD = 0;

/**
 * Search one independent sub-history. Entries live in typed arrays: entry 0 is the list head,
 * operation i has call entry 2i+1 and return entry 2i+2, so the matching return is `call + 1`.
 */
function checkPartition<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], budget: number): PartitionResult {
  const n = ops.length;
  if (n === 0) return { kind: 'ok', explored: 0 };

  const known = new Uint8Array(n);
  let remainingKnown = 0;
  for (let i = 0; i < n; i++) {
    if (ops[i]!.output !== undefined) {
      known[i] = 1;
      remainingKnown++;
    }
  }

  // Events sorted by time; at equal times calls precede returns (overlap), then by op index.
  const entryCount = 2 * n + 1;
  const order: number[] = [];
  const time = new Float64Array(entryCount);
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    time[2 * i + 1] = op.call;
    // An unknown outcome may take effect arbitrarily late, so its return is pushed to the end.
    time[2 * i + 2] = known[i] ? op.ret : Infinity;
    order.push(2 * i + 1, 2 * i + 2);
  }
  order.sort((a, b) => {
    const dt = time[a]! - time[b]!;
    if (dt !== 0 && !Number.isNaN(dt)) return dt < 0 ? -1 : 1;
    const ka = (a - 1) & 1; // 0 = call, 1 = return
    const kb = (b - 1) & 1;
    if (ka !== kb) return ka - kb;
    return a - b;
  });

  const next = new Int32Array(entryCount);
  const prev = new Int32Array(entryCount);
  let last = HEAD;
  for (const id of order) {
    next[last] = id;
    prev[id] = last;
    last = id;
  }
  next[last] = NIL;

  const isCall = (id: number): boolean => (id & 1) === 1;
  const opOf = (id: number): number => (id - 1) >>> 1;

  const lift = (id: number): void => {
    next[prev[id]!] = next[id]!;
    if (next[id] !== NIL) prev[next[id]!] = prev[id]!;
    const m = id + 1;
    next[prev[m]!] = next[m]!;
    if (next[m] !== NIL) prev[next[m]!] = prev[m]!;
  };
  const unlift = (id: number): void => {
    const m = id + 1;
    next[prev[m]!] = m;
    if (next[m] !== NIL) prev[next[m]!] = m;
    next[prev[id]!] = id;
    if (next[id] !== NIL) prev[next[id]!] = id;
  };

  const words = (n + 31) >>> 5;
  const linearized = new Uint32Array(words);
  const bitsKey = (): string => {
    let s = '';
    for (let w = 0; w < words; w++) {
      const v = linearized[w]!;
      s += String.fromCharCode(v & 0xffff, v >>> 16);
    }
    return s; // fixed length, so appending the state hash is unambiguous
  };

  const cache = new Set<string>();
  const stackEntry = new Int32Array(n);
  const stackState: S[] = new Array<S>(n);
  let depth = 0;
  let state = model.init();
  let explored = 0;

  let maxDepth = 0;
  let pendingSnapshot = true;
  let best: Snapshot<S> | undefined;
  const snapshot = (): Snapshot<S> => {
    const prefix: number[] = [];
    for (let d = 0; d < depth; d++) prefix.push(opOf(stackEntry[d]!));
    const candidates: number[] = [];
    let blocking: number | undefined;
    for (let e = next[HEAD]!; e !== NIL; e = next[e]!) {
      if (isCall(e)) {
        candidates.push(opOf(e));
      } else {
        blocking = opOf(e);
        break;
      }
    }
    return { prefix, state, candidates, blocking };
  };

  let entry = next[HEAD]!;
  while (remainingKnown > 0) {
    if (entry !== NIL && isCall(entry)) {
      if (explored >= budget) return { kind: 'budget', explored };
      explored++;
      const i = opOf(entry);
      const op = ops[i]!;
      let ok: boolean;
      let nextState: S;
      if (known[i]) {
        const r = model.step(state, op.input, op.output as O);
        ok = r.ok;
        nextState = r.state;
      } else {
        ok = true;
        nextState = model.stepUnknown!(state, op.input);
      }
      if (ok) {
        const w = i >>> 5;
        const bit = 1 << (i & 31);
        linearized[w]! |= bit;
        const key = bitsKey() + model.hash(nextState);
        if (!cache.has(key)) {
          cache.add(key);
          stackEntry[depth] = entry;
          stackState[depth] = state;
          depth++;
          state = nextState;
          lift(entry);
          if (known[i]) remainingKnown--;
          if (depth > maxDepth) {
            maxDepth = depth;
            pendingSnapshot = true;
          }
          entry = next[HEAD]!;
          continue;
        }
        linearized[w]! &= ~bit;
      }
      entry = next[entry]!;
    } else {
      // Reached a return whose operation is not linearized yet (or ran off the end): backtrack.
      if (pendingSnapshot) {
        best = snapshot();
        pendingSnapshot = false;
      }
      if (depth === 0) {
        return { kind: 'fail', explored, explanation: explain(model, ops, best ?? snapshot()) };
      }
      depth--;
      const top = stackEntry[depth]!;
      state = stackState[depth]!;
      const i = opOf(top);
      linearized[i >>> 5]! &= ~(1 << (i & 31));
      unlift(top);
      if (known[i]) remainingKnown++;
      entry = next[top]!;
    }
  }
  return { kind: 'ok', explored };
}

const SHOW_PREFIX = 8;
const SHOW_CANDIDATES = 8;

function describeOp<S, I, O>(model: Model<S, I, O>, op: Operation<I, O>): string {
  const body = model.describe
    ? model.describe(op.input, op.output)
    : `${JSON.stringify(op.input)} -> ${op.output === undefined ? '?' : JSON.stringify(op.output)}`;
  const ret = op.output === undefined || op.ret === Infinity ? '?' : String(op.ret);
  return `client ${op.clientId}: ${body} @[${op.call}, ${ret}]`;
}

function explain<S, I, O>(model: Model<S, I, O>, ops: readonly Operation<I, O>[], snap: Snapshot<S>): string {
  const lines: string[] = [];
  const total = ops.length;
  lines.push(`Longest linearizable prefix: ${snap.prefix.length} of ${total} ops.`);
  const shown = snap.prefix.slice(-SHOW_PREFIX);
  if (snap.prefix.length > shown.length) lines.push(`  ... ${snap.prefix.length - shown.length} earlier ops`);
  shown.forEach((i, k) => {
    lines.push(`  ${snap.prefix.length - shown.length + k + 1}. ${describeOp(model, ops[i]!)}`);
  });
  lines.push(`State after prefix: ${model.hash(snap.state)}`);
  const stuck = snap.candidates.filter((i) => ops[i]!.output !== undefined);
  lines.push('None of these could be placed next:');
  for (const i of stuck.slice(0, SHOW_CANDIDATES)) {
    const op = ops[i]!;
    const legal = model.step(snap.state, op.input, op.output as O).ok;
    const why = legal ? 'legal here, but no continuation works' : 'answer illegal in this state';
    lines.push(`  - ${describeOp(model, op)} (${why})`);
  }
  if (stuck.length > SHOW_CANDIDATES) lines.push(`  ... ${stuck.length - SHOW_CANDIDATES} more`);
  if (snap.blocking !== undefined) {
    lines.push(`Blocked at the return of: ${describeOp(model, ops[snap.blocking]!)}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Register / KV model

/** Requests the simulator's KV clients issue; every op names exactly one key. */
export type KvInput =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

/**
 * Answers the clients saw. get: `value` is what was read (null if absent); put: `ok` true; cas:
 * `ok` says whether it swapped. `ok: false` on put/get means the service definitively rejected
 * the request without effect; harnesses must record indeterminate outcomes as `undefined`.
 */
export type KvOutput = { ok: boolean; value: string | null };

/** Per-partition state of {@link kvModel}: the single key's value, null when absent. */
export type KvState = string | null;

function showValue(v: string | null): string {
  return v === null ? 'null' : JSON.stringify(v);
}

/**
 * Ready-made model for the simulator's KV store: a set of independent registers with CAS,
 * partitioned per key so each key is checked as its own (much smaller) register history.
 */
export const kvModel: Model<KvState, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case 'put':
        return output.ok ? { ok: true, state: input.value } : { ok: true, state };
      case 'get':
        return { ok: !output.ok || output.value === state, state };
      case 'cas': {
        const matches = state === input.expected;
        return { ok: output.ok === matches, state: matches ? input.value : state };
      }
    }
  },
  stepUnknown(state, input) {
    switch (input.op) {
      case 'put':
        return input.value;
      case 'get':
        return state;
      case 'cas':
        return state === input.expected ? input.value : state;
    }
  },
  partition(ops) {
    const byKey = new Map<string, Operation<KvInput, KvOutput>[]>();
    for (const op of ops) {
      let list = byKey.get(op.input.key);
      if (list === undefined) {
        list = [];
        byKey.set(op.input.key, list);
      }
      list.push(op);
    }
    return [...byKey.values()];
  },
  hash: (state) => (state === null ? 'null' : JSON.stringify(state)),
  describe(input, output) {
    const result = (text: string): string => (output === undefined ? '? (unknown outcome)' : text);
    switch (input.op) {
      case 'put':
        return `put(${input.key}, ${showValue(input.value)}) -> ${result(output?.ok ? 'ok' : 'rejected')}`;
      case 'get':
        return `get(${input.key}) -> ${result(output?.ok ? showValue(output.value) : 'rejected')}`;
      case 'cas':
        return `cas(${input.key}, ${showValue(input.expected)} => ${showValue(input.value)}) -> ${result(
          output?.ok ? 'swapped' : 'not swapped',
        )}`;
    }
  },
};
