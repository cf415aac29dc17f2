// WGSL sources are bundled as text (esbuild's text loader, scripts/build-host.mjs).
declare module "*.wgsl" {
  const source: string;
  export default source;
}
