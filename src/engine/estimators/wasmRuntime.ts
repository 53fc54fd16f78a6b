// What the engine's WebAssembly kernels (capacityWasm, symmetricEigenWasm, pairDistancesWasm,
// denseProductWasm) need of the runtime, declared once. The engine compiles against ES2022 and
// Node's types, which do not declare WebAssembly (the DOM library does): these are the parts used,
// read from globalThis, undefined where there is none.

/** Bytes of a WebAssembly memory page. */
export const PAGE = 65536;
/** wasm32 addresses 4 GiB; V8 caps a memory at 65,536 pages. */
export const MAX_PAGES = 65536;

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
}

export interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: Record<string, unknown> };
}

export const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** `local.get $name` and `local.set $name`: the instruction text the kernels are written in. */
export const localGet = (name: string): string => `local.get $${name}`;
export const localSet = (name: string): string => `local.set $${name}`;
