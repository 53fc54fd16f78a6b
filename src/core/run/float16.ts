// IEEE 754 binary16 <-> binary32 conversion. Activations files may be F16 and the engine widens
// them to float32 for computation; readers must take the values bit-exactly (run-format.md), so
// decoding goes through integer bit patterns rather than arithmetic, which would canonicalise NaNs.

/** float32 bit pattern of every float16 bit pattern; 256 KiB, built on first use. */
let decodeTable: Uint32Array | undefined;

function halfBitsToSingleBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) {
    // Inf or NaN: widening the mantissa in place keeps the quiet bit (the top mantissa bit) and
    // the payload, so a signalling NaN stays signalling and the round trip back is exact.
    return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  }
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    // Subnormal half: every one is a normal float32. Normalise so the leading 1 becomes implicit.
    let e = 113; // float32 biased exponent of 2^-14, the half subnormal scale
    let m = mant;
    while ((m & 0x400) === 0) {
      m <<= 1;
      e -= 1;
    }
    return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}

function table(): Uint32Array {
  if (decodeTable === undefined) {
    const t = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = halfBitsToSingleBits(h);
    decodeTable = t;
  }
  return decodeTable;
}

const scratch32 = new Uint32Array(1);
const scratchF32 = new Float32Array(scratch32.buffer);

/** The value of one float16 bit pattern (the low 16 bits of `bits`). */
export function float16BitsToFloat32(bits: number): number {
  scratch32[0] = table()[bits & 0xffff];
  return scratchF32[0];
}

/**
 * Widens float16 bit patterns to float32, bit-exactly: ±0, ±Inf, subnormals, and NaNs with their
 * quiet/signalling bit and payload. Writes into `out` when given (it must have `src.length`
 * elements), otherwise into a new array.
 */
export function decodeFloat16(src: Uint16Array, out?: Float32Array): Float32Array {
  const dst = out ?? new Float32Array(src.length);
  if (dst.length !== src.length) {
    throw new RangeError(`decodeFloat16: output has ${dst.length} elements, input has ${src.length}`);
  }
  // Storing through an integer view: a float store could quieten signalling NaNs on some CPUs.
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  const t = table();
  for (let i = 0; i < src.length; i++) bits[i] = t[src[i]];
  return dst;
}

/** One float32 bit pattern to float16 bits; a port of numpy's npy_floatbits_to_halfbits. */
function singleBitsToHalfBits(f: number): number {
  const hSign = (f >>> 16) & 0x8000;
  const fExp = f & 0x7f800000;
  if (fExp >= 0x47800000) {
    if (fExp === 0x7f800000) {
      const fSig = f & 0x007fffff;
      if (fSig !== 0) {
        // Keep the top mantissa bits (quiet bit, payload); a payload living only in the low 13
        // bits would truncate to Inf, so force it to stay a NaN.
        let ret = 0x7c00 + (fSig >>> 13);
        if (ret === 0x7c00) ret += 1;
        return hSign | ret;
      }
      return hSign | 0x7c00;
    }
    return hSign | 0x7c00; // too large for half: overflows to signed infinity
  }
  if (fExp <= 0x38000000) {
    // Below the smallest normal half: a subnormal half or a signed zero.
    if (fExp < 0x33000000) return hSign; // under half the smallest subnormal: rounds to zero
    const e = fExp >>> 23;
    let fSig = 0x00800000 + (f & 0x007fffff);
    fSig >>>= 113 - e;
    // Round to nearest, ties to even. The shift may have dropped up to 11 low bits, so a value
    // that looks like an exact tie after the shift is only a tie when those bits were zero.
    if ((fSig & 0x3fff) !== 0x1000 || (f & 0x7ff) !== 0) fSig += 0x1000;
    // A carry into bit 10 yields the smallest normal half, which is the right answer.
    return hSign | (fSig >>> 13);
  }
  const hExp = (fExp - 0x38000000) >>> 13;
  let fSig = f & 0x007fffff;
  if ((fSig & 0x3fff) !== 0x1000) fSig += 0x1000; // ties to even: skip the increment on an exact tie with an even result
  // A mantissa carry bumps the exponent, possibly up to 31, i.e. infinity: the right overflow.
  return hSign | ((hExp + (fSig >>> 13)) & 0x7fff);
}

/**
 * encodeFloat16 into `out` (src.length values), returning whether a finite value overflowed to
 * infinity: one pass for writers that must not store a silently wrong value.
 */
export function encodeFloat16Checked(src: Float32Array, out: Uint16Array): boolean {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  let overflow = false;
  for (let i = 0; i < src.length; i++) {
    const f = bits[i];
    const h = singleBitsToHalfBits(f);
    out[i] = h;
    if ((h & 0x7fff) === 0x7c00 && (f & 0x7f800000) !== 0x7f800000) overflow = true;
  }
  return overflow;
}

/** Narrows float32 values to float16 bit patterns, rounding to nearest, ties to even, like numpy's astype(float16). */
export function encodeFloat16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = singleBitsToHalfBits(bits[i]);
  return out;
}
