/**
 * Region policies: an event may carry `dataregion`, the region its data belongs to; a channel and
 * a subscription may each name the regions whose events they may deliver. A delivery that would
 * take an event outside them is recorded as `blocked`, with the policy that blocked it, and never
 * sent. An event without `dataregion` crosses no boundary and is not blocked.
 */
import type { ChannelConfig } from '../core/config.js';
import type { CloudEvent } from '../core/event.js';
import type { Subscription } from '../storage/ports.js';

/** The policy that blocks a delivery, and the reason recorded on it. */
export interface RegionBlock {
  policy: 'channel' | 'subscription';
  reason: string;
}

/**
 * Whether the event may go to the subscription through the channel; the block when it may not.
 *
 * @example
 * regionBlock({ ...event, dataregion: 'us' }, channel, { ...sub, delivery: { ...sub.delivery, allowedRegions: ['eu'] } });
 * // { policy: 'subscription', reason: "region policy of subscription sub_…: dataregion 'us' is not in [eu]" }
 */
export function regionBlock(
  event: CloudEvent,
  channel: Pick<ChannelConfig, 'name' | 'allowedRegions'>,
  sub: Pick<Subscription, 'id' | 'delivery'>,
): RegionBlock | null {
  const region = event.dataregion;
  if (region === undefined) return null;
  const name = String(region);
  if (channel.allowedRegions !== null && !channel.allowedRegions.includes(name)) {
    return {
      policy: 'channel',
      reason: `region policy of channel '${channel.name}': dataregion '${name}' is not in [${channel.allowedRegions.join(', ')}]`,
    };
  }
  const allowed = sub.delivery.allowedRegions;
  if (allowed !== null && !allowed.includes(name)) {
    return {
      policy: 'subscription',
      reason: `region policy of subscription ${sub.id}: dataregion '${name}' is not in [${allowed.join(', ')}]`,
    };
  }
  return null;
}
