// The estimators of the paper (§4.4, §5.2, §5.3) and the matrix-based Rényi entropy beyond it:
// pure functions over typed arrays, no I/O.
// docs/estimators.md states each formula, parameter and convention.

export { ESTIMATOR_DEFAULTS, ESTIMATOR_VERSION, effectiveK, resolveEstimatorParams } from './params';
export type { CapacityRange, EstimatorParams, IntraNormalization, RenyiSigmaRule } from './params';
export { channelEntropyByClass, featureMapEntropies, histogramEntropy } from './intraSampleEntropy';
export type { ChannelEntropyByClass, FeatureMapEntropies, IntraSampleParams } from './intraSampleEntropy';
export { interSampleEntropy, sigmaResidual } from './interSampleEntropy';
export type { InterSampleEntropy, InterSampleJob, InterSampleOptions, InterSampleParams, InterSampleThreads, KnnGraph } from './interSampleEntropy';
export { confusionMatrix, labelEntropies, predictionsFromLogits } from './labelEntropy';
export type { LabelEntropies } from './labelEntropy';
export { allocateCodes, channelCapacity, codeBytes, codeChannelChunk, codeDistances, fillCapacityRows, samplePairs, sortOrder } from './channelCapacity';
export type { CapacityMatrix, CapacityParams, CodedChannels, CodeStorage, PairDistances } from './channelCapacity';
export {
  gaussianGram,
  gaussianGramFromDistances,
  hadamardNormalized,
  isApproximate,
  kernelSigma,
  labelGram,
  medianPairDistance,
  normalizeTrace,
  renyiEntropy,
  renyiEntropy2,
  renyiEntropyOfEigenvalues,
  renyiGram,
  renyiJoint,
  renyiMutualInformation,
  silvermanSigma,
  squaredPairDistances,
} from './renyiEntropy';
export type { RenyiInformation, RenyiParams } from './renyiEntropy';
export { symmetricEigenvalues, symmetricEigenvaluesJs, tridiagonalEigenvalues } from './symmetricEigen';
