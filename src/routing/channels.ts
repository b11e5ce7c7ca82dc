/**
 * Which channel an event type belongs to. A channel names exact types and prefixes (`com.acme.order.*`);
 * an exact name wins over any prefix, a longer prefix over a shorter one, and a type no channel
 * names belongs to `default`.
 */
import { type ChannelConfig, DEFAULT_CHANNEL } from '../core/config.js';

/**
 * Types looked up before the cache is emptied. Event types come from producers, so the set of names
 * seen is not bounded by the configuration; emptying the cache at this size keeps memory bounded
 * while the usual handful of types stays cached.
 */
const MAX_CACHED = 10_000;

/**
 * The channels of the hub, by name and by event type.
 *
 * @example
 * const channels = new Channels(config.channels);
 * channels.of('com.acme.order.created').name; // 'orders' when orders has 'com.acme.order.*'
 * channels.of('inventory.adjusted').name; // 'default'
 * channels.for(['com.acme.order.created']).map((c) => c.name); // ['orders']
 */
export class Channels {
  private readonly byName = new Map<string, ChannelConfig>();
  private readonly exact = new Map<string, ChannelConfig>();
  /** Prefixes without their `*`, longest first, so the first match is the longest. */
  private readonly prefixes: Array<{ prefix: string; channel: ChannelConfig }> = [];
  private readonly fallback: ChannelConfig;
  private readonly cache = new Map<string, ChannelConfig>();

  /**
   * Takes channels as `parseConfig` checked them. `default` is added when missing (as
   * `DEFAULT_CHANNEL`); its `types` are ignored, since it takes whatever no other channel names.
   */
  constructor(channels: ChannelConfig[]) {
    for (const channel of channels) {
      if (this.byName.has(channel.name)) continue;
      this.byName.set(channel.name, channel);
      if (channel.name === DEFAULT_CHANNEL.name) continue;
      for (const type of channel.types) {
        if (type.endsWith('*')) this.prefixes.push({ prefix: type.slice(0, -1), channel });
        else if (!this.exact.has(type)) this.exact.set(type, channel);
      }
    }
    this.prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
    let fallback = this.byName.get(DEFAULT_CHANNEL.name);
    if (!fallback) {
      fallback = DEFAULT_CHANNEL;
      this.byName.set(fallback.name, fallback);
    }
    this.fallback = fallback;
  }

  /** The channel of an event type: its exact name, else the longest matching prefix, else `default`. */
  of(type: string): ChannelConfig {
    const cached = this.cache.get(type);
    if (cached) return cached;
    const channel =
      this.exact.get(type) ?? this.prefixes.find((p) => type.startsWith(p.prefix))?.channel ?? this.fallback;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(type, channel);
    return channel;
  }

  /** The channel of this name, if it is configured. */
  get(name: string): ChannelConfig | undefined {
    return this.byName.get(name);
  }

  /** Every channel, `default` included, in the order configured. */
  all(): ChannelConfig[] {
    return [...this.byName.values()];
  }

  /**
   * The channels a subscription with these types may receive: all channels when types is empty (a
   * subscription to every type), else the channel of each type, in the order of `all()`.
   *
   * @example
   * channels.for([]).length === channels.all().length; // true
   */
  for(types: string[]): ChannelConfig[] {
    if (types.length === 0) return this.all();
    const names = new Set(types.map((type) => this.of(type).name));
    return this.all().filter((channel) => names.has(channel.name));
  }
}
