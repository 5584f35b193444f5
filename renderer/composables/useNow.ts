// Effectful (a timer). A clock that ticks while the calling scope lives, so ages on screen grow
// between refetches without each row running its own timer.

import { onScopeDispose, ref, type Ref } from 'vue';

/** useNow returns Date.now(), refreshed every `intervalMs` until the scope ends. */
export function useNow(intervalMs = 1000): Ref<number> {
  const now = ref(Date.now());
  const timer = setInterval(() => {
    now.value = Date.now();
  }, intervalMs);
  onScopeDispose(() => clearInterval(timer));
  return now;
}
