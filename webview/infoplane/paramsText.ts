// The footer's words for the estimator behind the plane, from the parameters the engine says it
// used (the result's `params`). Read by name from the record that crossed the wire, so a parameter
// this build does not know is still listed rather than dropped. Pure: unit-tested without a browser.

const BASE =
  'Matrix-based Rényi α-order information (Giraldo, Rao & Príncipe 2015): S_α of the normalised Gaussian-kernel Gram matrix of each representation over the probe samples; I(X; T) = S_α(X) + S_α(T) − S_α(X, T) with the inputs’ kernel, I(T; Y) likewise with the labels’ kernel [yᵢ = yⱼ].';

function sigmaText(rule: unknown, value: unknown): string | undefined {
  switch (rule) {
    case 'median':
      return 'σ of each representation: the median distance between its samples';
    case 'silverman':
      return 'σ of each representation: Silverman’s rule of thumb';
    case 'fixed':
      return typeof value === 'number' ? `σ = ${value} for every representation` : undefined;
    default:
      return undefined;
  }
}

/** The footer: the estimator, and its parameters as the engine used them; `params` undefined before a result. */
export function estimatorText(params: Readonly<Record<string, unknown>> | undefined): string {
  if (params === undefined) return BASE;
  const parts: string[] = [];
  const known = new Set<string>();
  if (typeof params.renyiAlpha === 'number') {
    parts.push(`α = ${params.renyiAlpha}`);
    known.add('renyiAlpha');
  }
  const sigma = sigmaText(params.renyiSigma, params.renyiSigmaValue);
  if (sigma !== undefined) {
    parts.push(sigma);
    known.add('renyiSigma').add('renyiSigmaValue');
  }
  if (typeof params.renyiExactMax === 'number') {
    parts.push(`eigenvalues exact up to ${params.renyiExactMax} samples, estimated above`);
    known.add('renyiExactMax');
  }
  // Whatever else the estimator reports about itself.
  for (const [name, value] of Object.entries(params))
    if (!known.has(name) && /^renyi/i.test(name))
      parts.push(`${name} = ${typeof value === 'string' || typeof value === 'number' ? value : JSON.stringify(value)}`);
  return `${BASE} ${parts.length > 0 ? `Parameters: ${parts.join('; ')}.` : 'Parameters: the engine’s defaults (docs/estimators.md).'}`;
}
