// What the information-plane view shows, as numbers: the tests read it through
// window.cnnslicerInfoPlaneView instead of reading pixels back.
import type { ScreenPoint } from './trajectories';

export interface InfoPlaneViewModel {
  readonly run: string | undefined;
  /** The epochs of the slider (the run's) and the one chosen. */
  readonly epochs: readonly number[];
  readonly epoch: number | undefined;
  /** The epoch the markers sit on: the chosen one, or the latest computed before it. */
  readonly marked: number | undefined;
  readonly selectedLayer: string | undefined;
  /** Samples of the kernels and whether the engine estimated eigenvalues (above its exact limit). */
  readonly n: number | undefined;
  readonly approximate: boolean;
  /** The epochs the plane drawn holds. */
  readonly planeEpochs: readonly number[];
  /** One per representation, shallowest first, in its colour. */
  readonly trajectories: readonly {
    readonly layer: string;
    readonly depth: number;
    readonly color: string;
    readonly epochs: readonly number[];
    readonly IXT: readonly (number | null)[];
    readonly ITY: readonly (number | null)[];
  }[];
  /** Each trajectory's marker, where it is on the page. */
  readonly markers: readonly ScreenPoint[];
  /** Every point drawn, where it is on the page. */
  readonly points: readonly ScreenPoint[];
}

declare global {
  interface Window {
    cnnslicerInfoPlaneView?: () => InfoPlaneViewModel;
  }
}
