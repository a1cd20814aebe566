// What the integration serves to the components as a virtual module.
declare module 'virtual:kiln-astro/config' {
  const config: {
    format: 'directory' | 'file' | 'preserve';
    base: string;
    /** Absolute path of the fragments directory, or null when off. */
    fragmentsDir: string | null;
  };
  export default config;
}
