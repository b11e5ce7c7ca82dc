import { describe, expect, it } from 'vitest';
import { type SseMessage, SseParser } from '../../src/cli/sse.js';

function parse(chunks: string[]): { messages: SseMessage[]; retries: number[]; parser: SseParser } {
  const messages: SseMessage[] = [];
  const retries: number[] = [];
  const parser = new SseParser(
    (m) => messages.push(m),
    (ms) => retries.push(ms),
  );
  for (const chunk of chunks) parser.push(chunk);
  return { messages, retries, parser };
}

describe('SseParser', () => {
  it('dispatches a message at each blank line, with its event, data and id', () => {
    const { messages } = parse(['id: 7\nevent: cloudevent\ndata: {"a":1}\n\nid: 8\ndata: x\n\n']);
    expect(messages).toEqual([
      { event: 'cloudevent', data: '{"a":1}', id: '7' },
      { event: 'message', data: 'x', id: '8' },
    ]);
  });

  it('takes chunks split anywhere, CRLF split between chunks included', () => {
    const text = 'id: 12\r\nevent: cloudevent\r\ndata: {"b":"\u00e9"}\r\n\r\nid: 13\r\ndata: y\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const { messages } = parse([text.slice(0, cut), text.slice(cut)]);
      expect(messages, `cut at ${cut}`).toEqual([
        { event: 'cloudevent', data: '{"b":"\u00e9"}', id: '12' },
        { event: 'message', data: 'y', id: '13' },
      ]);
    }
  });

  it('joins data lines with a line feed and strips one leading space only', () => {
    const { messages } = parse(['data:  two spaces\ndata:none\ndata\n\n']);
    expect(messages[0]!.data).toBe(' two spaces\nnone\n');
  });

  it('ignores comments, unknown fields and messages without data, and keeps the last id', () => {
    const { messages, parser } = parse([': heartbeat\n\nfoo: bar\nid: 3\n\nevent: overflow\ndata: {}\n\n']);
    expect(messages).toEqual([{ event: 'overflow', data: '{}', id: '3' }]);
    expect(parser.lastEventId).toBe('3');
  });

  it('reports a numeric retry and ignores any other, and skips a leading BOM', () => {
    const { messages, retries } = parse(['\ufeffretry: 1500\nretry: soon\ndata: z\n\n']);
    expect(retries).toEqual([1500]);
    expect(messages).toEqual([{ event: 'message', data: 'z', id: '' }]);
  });

  it('does not dispatch a message until its blank line has come', () => {
    const { messages } = parse(['data: partial\n']);
    expect(messages).toEqual([]);
  });
});
