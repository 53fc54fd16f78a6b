// Performance marks at the steps of a view's start, read back by the view-open benchmark
// (bench/viewOpen.ts). The page takes them itself, so the figures do not depend on how often the
// benchmark looks, and looking less often leaves the page's main thread alone.
export type Milestone = 'script-start' | 'page-built' | 'first-data';

/** Marks `cnnslicer:<name>` once per page: the first time is the one that counts. */
export function markMilestone(name: Milestone): void {
  const mark = `cnnslicer:${name}`;
  if (performance.getEntriesByName(mark, 'mark').length === 0) performance.mark(mark);
}
