// The channel view (paper §5.4, Fig. 13–15) as a ViewKind, and how a command opens it on a layer.
// What it draws is webview/channel/.
import * as path from 'node:path';
import { parseChannelSelection } from '../../shared/messageValidation';
import type { RunInfo } from '../../shared/runFormat';
import type { ChannelSelection, PanelRun } from '../../shared/webviewProtocol';
import { pickLayer } from './layerView';
import type { ViewKind } from './viewPanel';
import type { ShowViewOptions, ViewPanels } from './viewPanels';

function runLabel(run: PanelRun): string {
  return run.state === 'loaded' ? run.info.name : path.basename(run.dir);
}

/** `Channels: mnist-100`. */
export function channelViewTitle(runs: readonly PanelRun[]): string {
  return runs.length === 0 ? 'Channels' : `Channels: ${runLabel(runs[0])}`;
}

export const CHANNEL_VIEW: ViewKind<ChannelSelection> = {
  name: 'channel',
  title: channelViewTitle,
  parseSelection: parseChannelSelection,
  initialSelection: (runs) => (runs.length > 0 ? { run: runs[0] } : {}),
};

/**
 * Opens (or reveals) the run's channel view on `layer` (asked for when not given), with `channel`
 * highlighted. Returns false when the user dismissed the pick.
 */
export async function openChannelView(
  panels: ViewPanels,
  info: RunInfo,
  choice: { readonly layer?: string; readonly channel?: number },
  options: Pick<ShowViewOptions<ChannelSelection>, 'preserveFocus'> = {},
): Promise<boolean> {
  const layer =
    choice.layer ??
    (await pickLayer(info, { title: `CNNSlicer: Channel View of ${info.name}`, placeHolder: 'The layer whose channels to show', withInputAndLogits: false }));
  if (layer === undefined) return false;
  const selection: ChannelSelection = choice.channel !== undefined ? { run: info.dir, layer, channel: choice.channel } : { run: info.dir, layer };
  panels.show(CHANNEL_VIEW, [info.dir], { selection, preserveFocus: options.preserveFocus });
  return true;
}
