// Types for kiln-astro/paths.
export function publishedPath(path: string): string;
