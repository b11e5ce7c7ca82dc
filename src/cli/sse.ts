/**
 * A server-sent events parser, as the HTML standard's "event stream interpretation" describes it.
 * Written by hand because no SSE parsing library is among the project's dependencies, and the
 * format is small: lines of `field: value`, messages ended by a blank line.
 */

/** One dispatched message. `id` is the last event id seen so far, as the standard keeps it. */
export interface SseMessage {
  event: string;
  data: string;
  id: string;
}

/**
 * Feeds text chunks as they arrive, split anywhere, and calls `onMessage` for each complete message.
 * `onRetry` hears a valid `retry:` field.
 *
 * @example
 * const parser = new SseParser((m) => console.log(m.event, m.data));
 * parser.push('id: 7\nevent: cloudevent\ndata: {"id":"a"}\n\n'); // cloudevent {"id":"a"}
 */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private hasData = false;
  /** The last event id: kept across messages, as the standard says. */
  lastEventId = '';
  private started = false;

  constructor(
    private readonly onMessage: (message: SseMessage) => void,
    private readonly onRetry: (ms: number) => void = () => {},
  ) {}

  push(chunk: string): void {
    let text = this.buffer + chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (;;) {
      const match = /\r\n|\r|\n/g;
      match.lastIndex = start;
      const found = match.exec(text);
      if (!found) break;
      // A CR at the very end may be the first half of a CRLF still to come.
      if (found[0] === '\r' && found.index === text.length - 1) break;
      this.line(text.slice(start, found.index));
      start = found.index + found[0].length;
    }
    this.buffer = text.slice(start);
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.onRetry(Number(value));
        break;
      default:
      // Unknown fields are ignored.
    }
  }

  private dispatch(): void {
    const event = this.event;
    const data = this.data.join('\n');
    const hasData = this.hasData;
    this.event = '';
    this.data = [];
    this.hasData = false;
    if (!hasData) return;
    this.onMessage({ event: event === '' ? 'message' : event, data, id: this.lastEventId });
  }
}
