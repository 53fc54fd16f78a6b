// A minimal assembler from a flat WebAssembly text subset to a module binary, so that the engine's
// hand-written kernels (capacityKernel.ts) need no toolchain, no build step and no committed binary:
// the bytes are made at run time, in microseconds, from the text in the TypeScript source, and the
// same source runs under tsx (tests) and from the esbuild bundle (dist/).
//
// Supported: functions over i32/i64/f64/v128 locals, one imported memory (env.memory, optionally
// shared), exports of functions, and the flat (non-folded) instructions of OPCODES below:
// `block`/`loop` take no result type, branch depths and local names are as in WAT
// (`local.get $x` or `local.get 2`), memory instructions take `offset=N align=N`. Comments start
// with `;;`. Anything else is an error naming the line, never a silently different module.

type ValueType = 'i32' | 'i64' | 'f64' | 'v128';
const VALUE_TYPE: Record<ValueType, number> = { i32: 0x7f, i64: 0x7e, f64: 0x7c, v128: 0x7b };

/** Immediate kinds: none, memory argument, local index, branch depth, signed constant, lane index, block type. */
type Immediate = 'none' | 'mem' | 'local' | 'depth' | 'i32' | 'i64' | 'lane' | 'block';

/** Opcode bytes (SIMD ones after the 0xfd prefix, as LEB128) and the immediate each takes; natural alignment log2 for memory ops. */
const OPCODES: Record<string, { code: number[]; imm: Immediate; align?: number }> = {
  block: { code: [0x02], imm: 'block' },
  loop: { code: [0x03], imm: 'block' },
  br: { code: [0x0c], imm: 'depth' },
  br_if: { code: [0x0d], imm: 'depth' },
  end: { code: [0x0b], imm: 'none' },
  return: { code: [0x0f], imm: 'none' },
  drop: { code: [0x1a], imm: 'none' },
  'local.get': { code: [0x20], imm: 'local' },
  'local.set': { code: [0x21], imm: 'local' },
  'local.tee': { code: [0x22], imm: 'local' },
  'i32.load': { code: [0x28], imm: 'mem', align: 2 },
  'i64.load': { code: [0x29], imm: 'mem', align: 3 },
  'i32.load8_u': { code: [0x2d], imm: 'mem', align: 0 },
  'i32.load16_u': { code: [0x2f], imm: 'mem', align: 1 },
  'i32.store': { code: [0x36], imm: 'mem', align: 2 },
  'i64.store': { code: [0x37], imm: 'mem', align: 3 },
  'f64.load': { code: [0x2b], imm: 'mem', align: 3 },
  'f64.store': { code: [0x39], imm: 'mem', align: 3 },
  'i32.store8': { code: [0x3a], imm: 'mem', align: 0 },
  'i32.store16': { code: [0x3b], imm: 'mem', align: 1 },
  'i32.const': { code: [0x41], imm: 'i32' },
  'i64.const': { code: [0x42], imm: 'i64' },
  'i32.eqz': { code: [0x45], imm: 'none' },
  'i32.eq': { code: [0x46], imm: 'none' },
  'i32.ne': { code: [0x47], imm: 'none' },
  'i32.lt_u': { code: [0x49], imm: 'none' },
  'i32.gt_u': { code: [0x4b], imm: 'none' },
  'i32.le_u': { code: [0x4d], imm: 'none' },
  'i32.ge_u': { code: [0x4f], imm: 'none' },
  'i32.add': { code: [0x6a], imm: 'none' },
  'i32.sub': { code: [0x6b], imm: 'none' },
  'i32.mul': { code: [0x6c], imm: 'none' },
  'i32.and': { code: [0x71], imm: 'none' },
  'i32.or': { code: [0x72], imm: 'none' },
  'i32.shl': { code: [0x74], imm: 'none' },
  'i32.shr_u': { code: [0x76], imm: 'none' },
  'i64.add': { code: [0x7c], imm: 'none' },
  'i64.and': { code: [0x83], imm: 'none' },
  'i64.or': { code: [0x84], imm: 'none' },
  'i64.shl': { code: [0x86], imm: 'none' },
  'i64.shr_u': { code: [0x88], imm: 'none' },
  'i32.wrap_i64': { code: [0xa7], imm: 'none' },
  'i64.extend_i32_u': { code: [0xad], imm: 'none' },
  'f64.add': { code: [0xa0], imm: 'none' },
  'f64.sub': { code: [0xa1], imm: 'none' },
  'f64.mul': { code: [0xa2], imm: 'none' },
  'f64.convert_i32_s': { code: [0xb7], imm: 'none' },
  'v128.load': { code: [0xfd, 0x00], imm: 'mem', align: 4 },
  'v128.store': { code: [0xfd, 0x0b], imm: 'mem', align: 4 },
  'i8x16.extract_lane_u': { code: [0xfd, 0x16], imm: 'lane' },
  'i16x8.extract_lane_u': { code: [0xfd, 0x19], imm: 'lane' },
  'i32x4.extract_lane': { code: [0xfd, 0x1b], imm: 'lane' },
  'i64x2.extract_lane': { code: [0xfd, 0x1d], imm: 'lane' },
  'i32x4.splat': { code: [0xfd, 0x11], imm: 'none' },
  'v128.or': { code: [0xfd, 0x50], imm: 'none' },
  'v128.and': { code: [0xfd, 0x4e], imm: 'none' },
  'i8x16.shl': { code: [0xfd, 0x6b], imm: 'none' },
  'i16x8.extend_low_i8x16_u': { code: [0xfd, 0x89, 0x01], imm: 'none' },
  'i16x8.extend_high_i8x16_u': { code: [0xfd, 0x8a, 0x01], imm: 'none' },
  'i16x8.shl': { code: [0xfd, 0x8b, 0x01], imm: 'none' },
  'i32x4.add': { code: [0xfd, 0xae, 0x01], imm: 'none' },
  'f64x2.splat': { code: [0xfd, 0x14], imm: 'none' },
  'f64x2.extract_lane': { code: [0xfd, 0x21], imm: 'lane' },
  'f64x2.add': { code: [0xfd, 0xf0, 0x01], imm: 'none' },
  'f64x2.sub': { code: [0xfd, 0xf1, 0x01], imm: 'none' },
  'f64x2.mul': { code: [0xfd, 0xf2, 0x01], imm: 'none' },
};

export interface WasmFunction {
  name: string;
  params: [string, ValueType][];
  results?: ValueType[];
  locals?: [string, ValueType][];
  body: string;
}

export interface WasmModuleSpec {
  /** Imported as env.memory: pages of 64 KiB. */
  memory: { initial: number; maximum: number; shared: boolean };
  functions: WasmFunction[];
}

function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

function signedLeb(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const signBit = (byte & 0x40) !== 0;
    if ((v === 0n && !signBit) || (v === -1n && signBit)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(text: string): number[] {
  const bytes = [...Buffer.from(text, 'utf8')];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsignedLeb(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function integer(text: string, where: string): bigint {
  if (!/^-?(0x[0-9a-f]+|\d+)$/i.test(text)) throw new Error(`${where}: "${text}" is not an integer`);
  return text.startsWith('-') ? -BigInt(text.slice(1)) : BigInt(text);
}

function assembleBody(fn: WasmFunction): number[] {
  const localIndex = new Map<string, number>();
  [...fn.params, ...(fn.locals ?? [])].forEach(([n], i) => localIndex.set(`$${n}`, i));
  const out: number[] = [];
  const lines = fn.body.split('\n');
  lines.forEach((raw, lineNo) => {
    const line = raw.replace(/;;.*$/, '').trim();
    if (line === '') return;
    const where = `${fn.name}, line ${lineNo + 1} "${line}"`;
    const [mnemonic, ...args] = line.split(/\s+/);
    const op = OPCODES[mnemonic];
    if (op === undefined) throw new Error(`${where}: unknown instruction`);
    out.push(...op.code);
    const one = (): string => {
      if (args.length !== 1) throw new Error(`${where}: expected one immediate`);
      return args[0];
    };
    switch (op.imm) {
      case 'none':
        if (args.length > 0) throw new Error(`${where}: takes no immediate`);
        break;
      case 'block':
        if (args.length > 0) throw new Error(`${where}: blocks with results or labels are not supported`);
        out.push(0x40);
        break;
      case 'local': {
        const arg = one();
        const index = arg.startsWith('$') ? localIndex.get(arg) : Number(integer(arg, where));
        if (index === undefined) throw new Error(`${where}: unknown local`);
        out.push(...unsignedLeb(index));
        break;
      }
      case 'depth':
      case 'lane':
        out.push(...unsignedLeb(Number(integer(one(), where))));
        break;
      case 'i32':
      case 'i64': {
        let v = integer(one(), where);
        // Hex constants may be written unsigned (0xffffffff); they are the same bits signed.
        const bits = op.imm === 'i32' ? 32n : 64n;
        if (v >= 1n << (bits - 1n)) v -= 1n << bits;
        out.push(...signedLeb(v));
        break;
      }
      case 'mem': {
        let offset = 0;
        let align = op.align ?? 0;
        for (const arg of args) {
          const m = /^(offset|align)=(\d+)$/.exec(arg);
          if (m === null) throw new Error(`${where}: bad memory argument "${arg}"`);
          if (m[1] === 'offset') offset = Number(m[2]);
          else align = Math.log2(Number(m[2]));
        }
        out.push(...unsignedLeb(align), ...unsignedLeb(offset));
        break;
      }
    }
  });
  out.push(0x0b);
  // Locals as runs of one type each.
  const runs: number[][] = (fn.locals ?? []).map(([, type]) => [1, VALUE_TYPE[type]]);
  const code = [...vector(runs), ...out];
  return [...unsignedLeb(code.length), ...code];
}

/** The module's bytes. Throws on text it cannot assemble; WebAssembly.Module then validates the rest. */
export function assembleModule(spec: WasmModuleSpec): Uint8Array {
  const { functions, memory } = spec;
  const types = functions.map((f) => [0x60, ...vector(f.params.map(([, t]) => [VALUE_TYPE[t]])), ...vector((f.results ?? []).map((t) => [VALUE_TYPE[t]]))]);
  const limits = [memory.shared ? 0x03 : 0x01, ...unsignedLeb(memory.initial), ...unsignedLeb(memory.maximum)];
  const imports = vector([[...name('env'), ...name('memory'), 0x02, ...limits]]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, vector(functions.map((_, i) => unsignedLeb(i)))),
    ...section(7, vector(functions.map((f, i) => [...name(f.name), 0x00, ...unsignedLeb(i)]))),
    ...section(10, vector(functions.map(assembleBody))),
  ];
  return Uint8Array.from(bytes);
}
