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
  /**
   * Optional hint: true when `step` with this input and output, whenever it accepts, leaves the
   * state unchanged (a read, a failed CAS); with `output` undefined, true when the operation can
   * never change the state whatever its outcome (a read). The checker places known read-only
   * operations as soon as they are legal without trying alternatives, and ignores unknown ones,
   * which removes most branching on reads. Answering false is always safe.
   */
  readOnly?(input: Input, output: Output | undefined): boolean;
  /**
   * Optional hint: equal keys promise identical effects. Unknown-outcome operations with equal
   * keys are interchangeable, so the checker only ever linearizes the earliest pending one, which
   * stops many identical timed-out writes from multiplying the search.
   */
  inputKey?(input: Input): string;
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
 * negatives) unless the step budget is exhausted, in which case the answer is 'unknown' rather
 * than a hang. Operations whose times are equal are treated as overlapping (the permissive
 * choice). Throws on malformed times, or on unknown outcomes when the model has no stepUnknown.
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
const FULL_WORD = 0xffffffff;

/**
 * Search one independent sub-history, iteratively with an explicit stack. Entries live in typed
 * arrays: entry 0 is the list head, operation i has call entry 2i+1 and return entry 2i+2, so
 * the matching return is `call + 1`.
 *
 * Beyond the textbook algorithm, each rule preserving the verdict (the unit tests compare with
 * exhaustive enumeration):
 * - operations are numbered by call time and the known ones kept in their own bitset, keyed as
 *   (first non-full word, last non-empty word, words between), so a cache key costs
 *   O(concurrency window) rather than O(history);
 * - unknown operations are optional, so a node with the same known set and state as a visited
 *   one but a superset of its unknown operations applied is pruned (dominated);
 * - per node, legal read-only operations are committed first, then writes, then unknown ones;
 * - an unknown operation is never linearized if it leaves the state unchanged, nor directly
 *   followed by an operation that makes it invisible (same legality and resulting state without
 *   it), nor out of call order among interchangeable ones (`inputKey`).
 */
function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  input: readonly Operation<I, O>[],
  budget: number,
): PartitionResult {
  // An unknown operation that can never change the state is irrelevant: drop it.
  const relevant = input.filter((op) => op.output !== undefined || !model.readOnly?.(op.input, undefined));
  const ops = relevant.sort((a, b) => a.call - b.call); // stable
  const n = ops.length;
  if (n === 0) return { kind: 'ok', explored: 0 };

  // Category, which is also the search phase in which an operation is tried.
  const READ = 0; // known outcome, read-only: placed greedily, no alternatives
  const WRITE = 1; // known outcome, may change the state
  const OPTIONAL = 2; // unknown outcome: may be linearized or not
  const category = new Uint8Array(n);
  const known = new Uint8Array(n);
  const bitIndex = new Int32Array(n);
  let knownCount = 0;
  let unknownCount = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    if (op.output !== undefined) {
      known[i] = 1;
      category[i] = model.readOnly?.(op.input, op.output) ? READ : WRITE;
      bitIndex[i] = knownCount++;
    } else {
      category[i] = OPTIONAL;
      bitIndex[i] = unknownCount++;
    }
  }
  let remainingKnown = knownCount;

  // Interchangeable unknown operations (equal inputKey) form a class; members are in call order
  // and only the first not-yet-linearized member of a class may be linearized next.
  const classOf = new Int32Array(n).fill(-1);
  const classIds = new Map<string, number>();
  const classMembers: number[][] = [];
  for (let i = 0; i < n; i++) {
    if (known[i]) continue;
    const key = model.inputKey ? model.inputKey(ops[i]!.input) : undefined;
    let c = key === undefined ? undefined : classIds.get(key);
    if (c === undefined) {
      c = classMembers.length;
      classMembers.push([]);
      if (key !== undefined) classIds.set(key, c);
    }
    classOf[i] = c;
    classMembers[c]!.push(i);
  }
  const classNext = new Int32Array(classMembers.length); // index of the first unlinearized member
  const isClassHead = (i: number): boolean => {
    const c = classOf[i]!;
    return classMembers[c]![classNext[c]!] === i;
  };

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

  // Linearized sets. Known: words below `low` are all ones, words above `high` all zeros.
  const knownBits = new Uint32Array((knownCount + 31) >>> 5);
  const unknownBits = new Uint32Array((unknownCount + 31) >>> 5);
  let low = 0;
  let high = -1;
  const setBit = (i: number): void => {
    const b = bitIndex[i]!;
    const w = b >>> 5;
    if (!known[i]) {
      unknownBits[w]! |= 1 << (b & 31);
      return;
    }
    knownBits[w]! |= 1 << (b & 31);
    if (w > high) high = w;
    while (low < knownBits.length && knownBits[low] === FULL_WORD) low++;
  };
  const clearBit = (i: number): void => {
    const b = bitIndex[i]!;
    const w = b >>> 5;
    if (!known[i]) {
      unknownBits[w]! &= ~(1 << (b & 31));
      return;
    }
    knownBits[w]! &= ~(1 << (b & 31));
    if (w < low) low = w;
    while (high >= 0 && knownBits[high] === 0) high--;
  };
  const knownKey = (): string => {
    let s = `${low},${high};`;
    for (let w = low; w <= high; w++) {
      const v = knownBits[w]!;
      s += String.fromCharCode(v & 0xffff, v >>> 16);
    }
    return s; // (low, high) fix the length, so appending the state hash is unambiguous
  };

  // Visited nodes: (known set, state) -> the unknown sets seen with it. A node whose unknown set
  // is a superset of a visited one is dominated (it has the same obligations and fewer options),
  // so it is pruned; this is Lowe's exact-match cache generalised to optional operations.
  const visited = new Map<string, Uint32Array[]>();
  const NO_UNKNOWNS: Uint32Array[] = [];
  const isSubsetOfCurrent = (u: Uint32Array): boolean => {
    for (let w = 0; w < u.length; w++) if ((u[w]! & ~unknownBits[w]!) !== 0) return false;
    return true;
  };
  /** Record the current node; false when it (or a node dominating it) was already visited. */
  const visit = (stateHash: string): boolean => {
    const key = knownKey() + stateHash;
    const seen = visited.get(key);
    if (unknownCount === 0) {
      if (seen !== undefined) return false;
      visited.set(key, NO_UNKNOWNS);
      return true;
    }
    if (seen === undefined) {
      visited.set(key, [unknownBits.slice()]);
      return true;
    }
    for (const u of seen) if (isSubsetOfCurrent(u)) return false;
    seen.push(unknownBits.slice());
    return true;
  };

  const stackEntry = new Int32Array(n);
  const stackState: S[] = new Array<S>(n);
  const stackHash: string[] = new Array<string>(n);
  let depth = 0;
  let state = model.init();
  let hash = model.hash(state);
  let explored = 0;

  // Deepest point reached, for the failure explanation. `stable` is the stack depth that has not
  // been popped since the last snapshot, so only the part above it needs copying.
  let maxDepth = 0;
  let pendingSnapshot = true;
  let stable = 0;
  const best: Snapshot<S> = { prefix: [], state, candidates: [], blocking: undefined };
  const snapshot = (): void => {
    best.prefix.length = stable;
    for (let d = stable; d < depth; d++) best.prefix.push(opOf(stackEntry[d]!));
    stable = depth;
    best.state = state;
    best.candidates = [];
    best.blocking = undefined;
    for (let e = next[HEAD]!; e !== NIL; e = next[e]!) {
      if (!isCall(e)) {
        best.blocking = opOf(e);
        break;
      }
      best.candidates.push(opOf(e));
    }
  };

  /** Whether applying op i to `earlier` is also legal and yields the state hashed `nextHash`. */
  const sameAfter = (earlier: S, i: number, nextHash: string): boolean => {
    const op = ops[i]!;
    if (!known[i]) return model.hash(model.stepUnknown!(earlier, op.input)) === nextHash;
    const r = model.step(earlier, op.input, op.output as O);
    return r.ok && model.hash(r.state) === nextHash;
  };

  // Each node scans its pending calls (those before the first unlinearized return) once per
  // phase: READ, then WRITE, then OPTIONAL. A legal read-only operation is committed: if the
  // node below it fails, so does this one, because any linearization from here could have
  // placed that read first.
  const lastPhase = unknownCount > 0 ? OPTIONAL : WRITE;
  let phase = READ;
  let entry = next[HEAD]!;
  while (remainingKnown > 0) {
    if (entry !== NIL && isCall(entry)) {
      const i = opOf(entry);
      if (category[i] !== phase || (phase === OPTIONAL && !isClassHead(i))) {
        entry = next[entry]!;
        continue;
      }
      if (explored >= budget) return { kind: 'budget', explored };
      explored++;
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
        const nextHash = model.hash(nextState);
        if (!known[i] && nextHash === hash) {
          // An unknown operation that changes nothing is never worth linearizing.
        } else if (depth > 0 && !known[opOf(stackEntry[depth - 1]!)] && sameAfter(stackState[depth - 1]!, i, nextHash)) {
          // The previous step was an optional (unknown) operation that this one makes invisible:
          // the parent node reaches the same state without it, and explores that itself.
        } else {
          setBit(i);
          if (visit(nextHash)) {
            stackEntry[depth] = entry;
            stackState[depth] = state;
            stackHash[depth] = hash;
            depth++;
            state = nextState;
            hash = nextHash;
            lift(entry);
            if (known[i]) remainingKnown--;
            else classNext[classOf[i]!]!++;
            if (depth > maxDepth) {
              maxDepth = depth;
              pendingSnapshot = true;
            }
            phase = READ;
            entry = next[HEAD]!;
            continue;
          }
          clearBit(i);
        }
      }
      entry = next[entry]!;
    } else if (phase < lastPhase) {
      phase++;
      entry = next[HEAD]!;
    } else {
      // Every pending call was tried before a return that is not linearized yet: backtrack.
      if (pendingSnapshot) {
        snapshot();
        pendingSnapshot = false;
      }
      if (depth === 0) {
        return { kind: 'fail', explored, explanation: explain(model, ops, input.length - n, best) };
      }
      depth--;
      if (depth < stable) stable = depth;
      const top = stackEntry[depth]!;
      state = stackState[depth]!;
      hash = stackHash[depth]!;
      const i = opOf(top);
      clearBit(i);
      unlift(top);
      if (known[i]) remainingKnown++;
      else classNext[classOf[i]!]!--;
      if (category[i] === READ) {
        phase = lastPhase; // committed choice failed: this node fails too
        entry = NIL;
      } else {
        phase = category[i]!;
        entry = next[top]!;
      }
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

function explain<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  ignored: number,
  snap: Snapshot<S>,
): string {
  const lines: string[] = [];
  const note = ignored > 0 ? ` (${ignored} unknown-outcome reads ignored)` : '';
  lines.push(`Longest linearizable prefix: ${snap.prefix.length} of ${ops.length} ops${note}.`);
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

/**
 * Stand-in for a value written by an unknown-outcome operation that no operation ever reads or
 * expects: all such values behave identically, so writing them as one value lets the checker
 * treat those writes as interchangeable.
 */
const NEVER_READ = '\u0000never-read';

function showValue(v: string | null): string {
  if (v === NEVER_READ) return '<value never read>';
  return v === null ? 'null' : JSON.stringify(v);
}

/** Replace values of unknown-outcome writes that nothing observes by {@link NEVER_READ}. */
function anonymiseUnreadWrites(ops: Operation<KvInput, KvOutput>[]): Operation<KvInput, KvOutput>[] {
  const observed = new Set<string>();
  for (const op of ops) {
    if (op.input.op === 'cas') {
      if (op.input.expected !== null) observed.add(op.input.expected);
      if (op.input.value === NEVER_READ) return ops; // a real value collides with the token
    } else if (op.input.op === 'get') {
      if (op.output?.value != null) observed.add(op.output.value);
    } else if (op.input.value === NEVER_READ) {
      return ops;
    }
  }
  if (observed.has(NEVER_READ)) return ops;
  return ops.map((op) => {
    if (op.output !== undefined || op.input.op === 'get' || observed.has(op.input.value)) return op;
    return { ...op, input: { ...op.input, value: NEVER_READ } };
  });
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
    return [...byKey.values()].map(anonymiseUnreadWrites);
  },
  readOnly: (input, output) => input.op === 'get' || (output !== undefined && !output.ok),
  inputKey: (input) => JSON.stringify(input),
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
