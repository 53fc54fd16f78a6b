// What the channel view shows, as numbers: the tests read it through window.cnnslicerChannelView
// instead of reading pixels back.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { type ChannelSortKey } from './channelOrder';
import { type GroupKey } from './entropyModel';
import { type OverviewGeometry } from './overviewStrip';
import { type ScreenCircle } from './packing';
import { type BoxGeometry } from './smallMultiples';

/**
 * What the view draws, for the webview's developer tools and the browser tests: the lines of (A),
 * the channels it shows in their order, the boxes it drew and the overview strip, and the circles
 * of (B) as on screen.
 */
export interface ChannelViewModel {
  readonly layer: string | undefined;
  readonly epoch: number | undefined;
  readonly channel: number | undefined;
  readonly zoom: GroupKey | undefined;
  readonly animating: boolean;
  readonly lines: { readonly epochs: readonly number[]; readonly channels: number; readonly classes: number; readonly max: number } | undefined;
  readonly sort: ChannelSortKey;
  /** The channels (A) shows, in its order: sorted and filtered. */
  readonly order: readonly number[] | undefined;
  readonly boxes: BoxGeometry | undefined;
  readonly overview: OverviewGeometry | undefined;
  /** Channel circles per class in (B); undefined: every channel. */
  readonly packTop: number | undefined;
  /** The packing canvas's side in CSS pixels (0 when hidden). */
  readonly packingSize: number;
  readonly groups: readonly ScreenCircle[];
  readonly circles: readonly ScreenCircle[];
}

declare global {
  interface Window {
    cnnslicerChannelView?: () => ChannelViewModel;
  }
}
