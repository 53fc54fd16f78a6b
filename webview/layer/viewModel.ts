// What the layer view shows, as numbers: the tests read it through window.cnnslicerLayerView
// instead of reading pixels back.
import type { ScaleRange } from './capacityModel';
import type { HeatmapGeometry } from './heatmap';

export interface LayerViewModel {
  readonly layer: string | undefined;
  readonly epoch: number | undefined;
  readonly range: ScaleRange | undefined;
  readonly heatmaps: readonly {
    readonly canvasId: string;
    readonly otherLayer: string;
    readonly epoch: number | undefined;
    readonly rows: number;
    readonly cols: number;
    /** position → channel. */
    readonly columns: number[];
    readonly rowOrder: number[];
    /** capacity[row channel][column channel], bits; empty for matrices over 65,536 cells. */
    readonly capacity: number[][];
    readonly geometry: HeatmapGeometry | undefined;
    /** The channels outlined for the linked selection, and the clicked cell, by channels. */
    readonly linkedColumn: number | undefined;
    readonly linkedRow: number | undefined;
    readonly selected: { readonly column: number; readonly row: number } | undefined;
    /** The keyboard's cell cursor, in display positions. */
    readonly cursor: { readonly columnPosition: number; readonly rowPosition: number } | undefined;
  }[];
}

declare global {
  interface Window {
    cnnslicerLayerView?: () => LayerViewModel;
  }
}
