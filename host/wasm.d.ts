// esbuild's binary loader turns `import x from "*.wasm"` into the module's bytes.
declare module "*.wasm" {
  const bytes: Uint8Array;
  export default bytes;
}
