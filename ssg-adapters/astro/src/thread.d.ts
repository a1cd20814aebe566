// Types for kiln-astro/thread.
export interface UrlSettings {
  format?: 'directory' | 'file' | 'preserve';
  /** Astro's `base`, e.g. `/blog`. */
  base?: string;
}
export function fragmentName(thread: string): string;
export function threadFor(pathname: string, settings?: UrlSettings): string;
export function readFragment(dir: string | null | undefined, thread: string): string | undefined;
export function readCount(dir: string | null | undefined, thread: string): number | undefined;
export function countWords(count: number): string;
