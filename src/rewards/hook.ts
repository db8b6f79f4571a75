// The RewardHook contract and the one place hooks are run and validated over a dataset.
import { checkDataset, type Dataset } from '../data/dataset.js';
import type { Listen } from '../data/types.js';
import { EncoreError, InvalidOptionError } from '../errors.js';

/**
 * What a {@link RewardHook} sees besides the listen itself: the listener's earlier listens (recent
 * history, oldest first) and what came next.
 */
export interface RewardContext {
  userId: string;
  /** Up to 50 listens before this one, oldest first. */
  history: readonly Listen[];
  /** Up to 50 listens after this one, in time order. */
  next: readonly Listen[];
  /** Position of this listen in the user's time-ordered listens. */
  index: number;
  /**
   * All of this listener's listens in time order (`listens[index]` is this one), when the hook runs over a
   * dataset ({@link computeRewards}), for hooks that look further than `history` and `next`.
   */
  listens?: readonly Listen[];
}

/**
 * Turns a listening event into a reward. Must return a finite number; {@link computeRewards} stores rewards as
 * float32, so there it must also be within ±3.4e38 (float32's largest finite value).
 *
 * @example
 * ```ts
 * const liked: RewardHook = (listen) => (listen.saved ? 1 : 0);
 * ```
 */
export type RewardHook = (listen: Listen, context: RewardContext) => number;

/**
 * A reward hook returned NaN or Infinity (or, in {@link computeRewards}, a value too large for float32), or
 * threw. Names the hook and the listen.
 *
 * @example
 * ```ts
 * try { computeRewards(ds, () => Number.NaN); } catch (e) { if (e instanceof RewardHookError) console.log(e.hook); }
 * ```
 */
export class RewardHookError extends EncoreError {
  override name = 'RewardHookError';
  readonly hook: string;
  readonly listen: Listen;
  constructor(hook: string, listen: Listen, problem: string, options?: { cause?: unknown }) {
    super(
      `Reward hook ${hook} ${problem} for listen {userId: ${JSON.stringify(listen.userId)}, trackId: ${JSON.stringify(listen.trackId)}, timestamp: ${listen.timestamp}}`,
      options,
    );
    this.hook = hook;
    this.listen = listen;
  }
}

/**
 * The display name of a hook: its `hookName` property, else its function name, else `(anonymous)`.
 *
 * @example
 * ```ts
 * hookName(rewards.completion()); // 'completion'
 * ```
 */
export function hookName(hook: RewardHook): string {
  return (hook as { hookName?: string }).hookName ?? (hook.name || '(anonymous)');
}

/**
 * Runs a hook on one listen and checks the result is finite; otherwise throws {@link RewardHookError}.
 *
 * @example
 * ```ts
 * const r = runHook(rewards.completion(), listen, { userId: 'u1', history: [], next: [], index: 0 });
 * ```
 */
export function runHook(hook: RewardHook, listen: Listen, context: RewardContext): number {
  let value: number;
  try {
    value = hook(listen, context);
  } catch (e) {
    // A nested hook (e.g. inside rewards.combine) already named the innermost culprit: keep that error.
    if (e instanceof RewardHookError) throw e;
    throw new RewardHookError(hookName(hook), listen, `threw: ${(e as Error)?.message ?? String(e)}`, {
      cause: e,
    });
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RewardHookError(
      hookName(hook),
      listen,
      `returned ${typeof value === 'string' ? JSON.stringify(value) : String(value)}, expected a finite number`,
    );
  }
  return value;
}

/** The largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Runs a hook over every listen of a dataset. Returns, per user, one reward per listen (same order as
 * `dataset.userListens`), as float32: a finite value beyond float32's range (|value| > 3.4e38) would be stored
 * as Infinity, so it throws {@link RewardHookError} instead.
 *
 * @example
 * ```ts
 * const r = computeRewards(train, rewards.completion());
 * r.get('u1'); // Float32Array, one reward per listen of u1
 * ```
 */
export function computeRewards(dataset: Dataset, hook: RewardHook): Map<string, Float32Array> {
  checkDataset(dataset, 'dataset', 'of listens to reward');
  if (typeof hook !== 'function') throw new InvalidOptionError('hook', 'a reward hook function', hook);
  const out = new Map<string, Float32Array>();
  for (const [user, listens] of dataset.userListens) {
    const r = new Float32Array(listens.length);
    for (let i = 0; i < listens.length; i++) {
      const value = runHook(hook, listens[i]!, {
        userId: user,
        history: listens.slice(Math.max(0, i - 50), i),
        next: listens.slice(i + 1, i + 51),
        index: i,
        listens,
      });
      r[i] = value;
      // runHook checked the value is finite; the check must also hold for the float32 actually stored.
      if (!Number.isFinite(r[i]!)) {
        throw new RewardHookError(
          hookName(hook),
          listens[i]!,
          `returned ${value}, which overflows the float32 rewards are stored in (|value| must be at most ${FLOAT32_MAX})`,
        );
      }
    }
    out.set(user, r);
  }
  return out;
}
