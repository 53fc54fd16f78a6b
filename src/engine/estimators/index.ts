// The estimators of the paper (§4.4, §5.2, §5.3): pure functions over typed arrays, no I/O.
// docs/estimators.md states each formula, parameter and convention.

export { ESTIMATOR_DEFAULTS, ESTIMATOR_VERSION, effectiveK, resolveEstimatorParams } from './params';
export type { CapacityRange, EstimatorParams, IntraNormalization } from './params';
export { channelEntropyByClass, featureMapEntropies, histogramEntropy } from './intraSampleEntropy';
export type { ChannelEntropyByClass, FeatureMapEntropies, IntraSampleParams } from './intraSampleEntropy';
export { interSampleEntropy, sigmaResidual } from './interSampleEntropy';
export type { InterSampleEntropy, InterSampleJob, InterSampleOptions, InterSampleParams, InterSampleThreads, KnnGraph } from './interSampleEntropy';
export { confusionMatrix, labelEntropies, predictionsFromLogits } from './labelEntropy';
export type { LabelEntropies } from './labelEntropy';
export { allocateCodes, channelCapacity, codeBytes, codeChannelChunk, codeDistances, fillCapacityRows, samplePairs, sortOrder } from './channelCapacity';
export type { CapacityMatrix, CapacityParams, CodedChannels, CodeStorage, PairDistances } from './channelCapacity';
