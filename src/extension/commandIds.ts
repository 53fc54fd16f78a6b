// Identifiers package.json declares and the code registers; a unit test keeps the two in step.

export const COMMAND = {
  analyzeModel: 'cnnslicer.analyzeModel',
  attachProbe: 'cnnslicer.attachProbe',
  compareRuns: 'cnnslicer.compareRuns',
  exportView: 'cnnslicer.exportView',
  goToLayer: 'cnnslicer.goToLayer',
  installProbe: 'cnnslicer.installProbe',
  openChannelView: 'cnnslicer.openChannelView',
  openInfoPlane: 'cnnslicer.openInfoPlane',
  openLayerView: 'cnnslicer.openLayerView',
  openQueryView: 'cnnslicer.openQueryView',
  openSampleRun: 'cnnslicer.openSampleRun',
  openTrainingView: 'cnnslicer.openTrainingView',
  refreshRuns: 'cnnslicer.refreshRuns',
  restartEngine: 'cnnslicer.restartEngine',
  selectChannel: 'cnnslicer.selectChannel',
  showLayer: 'cnnslicer.showLayer',
  showLog: 'cnnslicer.showLog',
  showRunSummary: 'cnnslicer.showRunSummary',
  trainModel: 'cnnslicer.trainModel',
} as const;

export const RUNS_VIEW_ID = 'cnnslicer.runs';

/** The URI scheme of the read-only run summary documents. */
export const SUMMARY_SCHEME = 'cnnslicer-summary';
