// Which probe samples a slice takes (the paper's x): its own module, because the protocol, the
// measures and DeconvNet all name it and the protocol imports the other two.
/** Which probe samples a slice takes: the paper's x. */
export type SampleSelection =
  { readonly kind: 'all' } | { readonly kind: 'class'; readonly classIndex: number } | { readonly kind: 'indices'; readonly indices: readonly number[] };
