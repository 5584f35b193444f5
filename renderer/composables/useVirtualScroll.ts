// Effectful (DOM measurement and events). Tracks a scroll container's position and height and
// derives the rows of a fixed-row-height list to render; lib/virtualWindow.ts does the arithmetic.

import { computed, onMounted, onScopeDispose, ref, type ComputedRef, type Ref } from 'vue';
import { virtualWindow, type Expansion, type VirtualWindow } from '../lib/virtualWindow.ts';

/** VirtualScrollOptions describe the list; refs so the window follows them. */
export interface VirtualScrollOptions {
  readonly total: Ref<number>;
  readonly rowPx: number;
  readonly overscan: number;
  readonly expansion: Ref<Expansion | null>;
  /**
   * Height assumed until the container has been measured (and where layout gives none, as in a
   * test DOM), so the first render already shows a screenful of rows.
   */
  readonly fallbackViewportPx: number;
}

/** VirtualScroll is the window to render and the handlers the container needs. */
export interface VirtualScroll {
  readonly window: ComputedRef<VirtualWindow>;
  readonly scrollTop: Ref<number>;
  readonly viewportPx: Ref<number>;
  onScroll(): void;
  scrollToTop(): void;
}

/**
 * useVirtualScroll follows `container`'s scrollTop and height (a ResizeObserver where there is
 * one, window resizes otherwise) and computes the rows to render.
 */
export function useVirtualScroll(container: Ref<HTMLElement | null>, options: VirtualScrollOptions): VirtualScroll {
  const scrollTop = ref(0);
  const viewportPx = ref(options.fallbackViewportPx);
  let observer: ResizeObserver | null = null;

  function measure(): void {
    const el = container.value;
    if (!el) return;
    if (el.clientHeight > 0) viewportPx.value = el.clientHeight;
    scrollTop.value = el.scrollTop;
  }

  function onScroll(): void {
    const el = container.value;
    if (el) scrollTop.value = el.scrollTop;
  }

  function scrollToTop(): void {
    const el = container.value;
    if (el) el.scrollTop = 0;
    scrollTop.value = 0;
  }

  onMounted(() => {
    measure();
    if (typeof ResizeObserver !== 'undefined' && container.value) {
      observer = new ResizeObserver(measure);
      observer.observe(container.value);
    } else {
      window.addEventListener('resize', measure);
    }
  });

  onScopeDispose(() => {
    observer?.disconnect();
    observer = null;
    window.removeEventListener('resize', measure);
  });

  const win = computed(() =>
    virtualWindow({
      scrollTop: scrollTop.value,
      viewportPx: viewportPx.value,
      rowPx: options.rowPx,
      total: options.total.value,
      overscan: options.overscan,
      expansion: options.expansion.value,
    }),
  );

  return { window: win, scrollTop, viewportPx, onScroll, scrollToTop };
}
