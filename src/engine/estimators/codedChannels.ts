// A layer's channels as capacity bin codes: what channelCapacity.ts produces and the counting
// kernels (capacityKernel.ts, capacityWasm.ts) read, in a module of its own so that neither
// imports the other for it.
import type { CapacityArena } from './capacityWasm';

/** A layer's pair distances turned into bin codes, ready for any number of capacity matrices. */
export interface CodedChannels {
  readonly channels: number;
  /** Sample pairs coded: all of them, or the sample of `samplePairs`. */
  readonly pairs: number;
  readonly bins: number;
  /**
   * Bin of each distance, one byte per pair, channel c from c·stride. The stride is `pairs`
   * rounded up to a multiple of 16 so each channel starts on a 16-byte boundary and can be read as
   * 32-bit words or 128-bit vectors, 4 or 16 pairs at a time.
   */
  readonly codes: Uint8Array;
  readonly stride: number;
  /** Upper end of each channel's bins: distances d go to bin ⌊d/upper·B⌋ (the largest to B − 1). */
  readonly upper: Float64Array;
  /** H of each channel's binned distances, in bits. */
  readonly entropy: Float64Array;
  /** The WebAssembly memory holding `codes`, when they are in one (the fast kernel then counts them). */
  readonly arena?: CapacityArena;
}
