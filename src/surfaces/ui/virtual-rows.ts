import { elementScroll, observeElementOffset, observeElementRect, Virtualizer } from '@tanstack/virtual-core';
import { useLayoutEffect, useReducer, useState } from 'preact/hooks';

/**
 * Rows of a fixed height drawn only where the scroll container shows them (and `overscan` more):
 * thousands of loaded records cost the DOM a screenful. The Preact binding of
 * @tanstack/virtual-core, as its React adapter does it (options set on every render, mounted in a
 * layout effect). Re-measures when `rowHeight` changes (narrow screens use taller rows).
 */
export function useVirtualRows(options: { count: number; rowHeight: number; getScrollElement: () => HTMLElement | null; overscan?: number }): Virtualizer<HTMLElement, Element> {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const resolved = {
    count: options.count,
    getScrollElement: options.getScrollElement,
    estimateSize: () => options.rowHeight,
    overscan: options.overscan ?? 10,
    scrollToFn: elementScroll,
    observeElementRect,
    observeElementOffset,
    onChange: () => rerender(0),
  };
  const [virtualizer] = useState(() => new Virtualizer<HTMLElement, Element>(resolved));
  virtualizer.setOptions(resolved);
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());
  useLayoutEffect(() => virtualizer.measure(), [options.rowHeight]);
  return virtualizer;
}

/** Whether the media query matches, following changes (rotation, a resized window). */
export function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches);
  useLayoutEffect(() => {
    const list = window.matchMedia(query);
    const on = () => setMatches(list.matches);
    on();
    list.addEventListener('change', on);
    return () => list.removeEventListener('change', on);
  }, [query]);
  return matches;
}
