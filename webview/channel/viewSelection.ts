// What the channel view keeps across reloads: the protocol's ChannelSelection (what the host and
// the other views know: run, layer, epoch, channel, zoom, projected class) plus the view's own
// display choices (the order and filter of the small multiples, the circles per class). The host
// never reads those: it validates saved state with parseChannelSelection, which leaves them out
// of what it uses, and the view reads its saved state itself (webview/shared/viewSession.ts).
import { parseChannelSelection } from '../../src/shared/messageValidation';
import { isIndex, isRecord, ok, type Parsed } from '../../src/shared/parse';
import type { ChannelSelection } from '../../src/shared/webviewProtocol';
import { CHANNEL_SORT_KEYS, type ChannelSortKey, type DeadFilter } from './channelOrder';
import { PACK_TOP_CHOICES, type PackTop } from './entropyModel';

/** Longest channel filter kept: far more than any list of ranges a person types. */
export const MAX_CHANNEL_FILTER_CHARS = 400;

export interface ChannelViewSelection extends ChannelSelection {
  /** The small multiples' order; channel number when absent. */
  readonly sort?: ChannelSortKey;
  /** The channels shown, as typed ("12, 40-63"); every channel when absent. */
  readonly channels?: string;
  /** Hide the dead channels, or show only them; both when absent. */
  readonly dead?: DeadFilter;
  /** Channel circles per class in the packing; absent: the automatic choice (entropyModel.packTopFor). */
  readonly packTop?: PackTop;
}

/**
 * The protocol's fields as parseChannelSelection reads them (refusing wrong ones, as the host
 * does), and the view's own choices where valid. A display choice this build does not know falls
 * back to its default rather than costing the saved run and selection.
 */
export function parseChannelViewSelection(value: unknown): Parsed<ChannelViewSelection> {
  const base = parseChannelSelection(value);
  if (!base.ok || !isRecord(value)) return base;
  const sort = CHANNEL_SORT_KEYS.find((k) => k === value.sort);
  const channels = typeof value.channels === 'string' && value.channels.length <= MAX_CHANNEL_FILTER_CHARS ? value.channels : undefined;
  const dead = value.dead === 'hide' || value.dead === 'only' ? value.dead : undefined;
  const packTop = value.packTop === 'all' || (isIndex(value.packTop) && PACK_TOP_CHOICES.includes(value.packTop)) ? value.packTop : undefined;
  return ok({
    ...base.value,
    ...(sort !== undefined ? { sort } : {}),
    ...(channels !== undefined ? { channels } : {}),
    ...(dead !== undefined ? { dead } : {}),
    ...(packTop !== undefined ? { packTop } : {}),
  });
}
