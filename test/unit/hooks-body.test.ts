/** Hook bodies as no-code tools send them: JSON, forms, multipart, text, or nothing. */
import { describe, expect, it } from 'vitest';
import { parseHookBody } from '../../src/adapters/hooks/request-body.js';
import { MalformedRequestError, UnsupportedMediaTypeError } from '../../src/core/errors.js';

describe('parseHookBody', () => {
  it('parses JSON, +json types and a charset parameter', async () => {
    expect(await parseHookBody(Buffer.from('{"a":[1]}'), 'application/json; charset=utf-8')).toEqual({
      kind: 'json',
      value: { a: [1] },
    });
    expect((await parseHookBody(Buffer.from('{"a":1}'), 'application/vnd.api+json')).value).toEqual({ a: 1 });
    expect(await parseHookBody(Buffer.alloc(0), 'application/json')).toEqual({ kind: 'empty', value: null });
  });

  it('parses a form, a repeated field into an array, __proto__ as a plain field', async () => {
    const parsed = await parseHookBody(
      Buffer.from('a=1&a=2&b=x+y&__proto__=p'),
      'application/x-www-form-urlencoded',
    );
    expect(parsed.kind).toBe('form');
    expect(parsed.value).toEqual({ a: ['1', '2'], b: 'x y', ['__proto__']: 'p' });
    expect(Object.getPrototypeOf(parsed.value)).toBe(Object.prototype);
  });

  it('parses multipart fields and files', async () => {
    const form = new FormData();
    form.append('name', 'Ann');
    form.append('file', new Blob(['hi'], { type: 'text/plain' }), 'a.txt');
    const request = new Request('http://x', { method: 'POST', body: form });
    const body = Buffer.from(await request.arrayBuffer());
    const parsed = await parseHookBody(body, request.headers.get('content-type')!);
    expect(parsed).toEqual({
      kind: 'multipart',
      value: { name: 'Ann', file: { filename: 'a.txt', contentType: 'text/plain', size: 2, base64: 'aGk=' } },
    });
  });

  it('reads text in its charset, and guesses JSON or text without a Content-Type', async () => {
    expect(
      await parseHookBody(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'text/plain; charset=iso-8859-1'),
    ).toEqual({
      kind: 'text',
      value: 'café',
    });
    expect(await parseHookBody(Buffer.from('{"a":1}'), undefined)).toEqual({ kind: 'json', value: { a: 1 } });
    expect(await parseHookBody(Buffer.from('plain words'), undefined)).toEqual({
      kind: 'text',
      value: 'plain words',
    });
    expect(await parseHookBody(Buffer.alloc(0), undefined)).toEqual({ kind: 'empty', value: null });
  });

  it('refuses other types with 415 naming the accepted ones, and broken bodies with 400', async () => {
    await expect(parseHookBody(Buffer.from('<a/>'), 'application/xml')).rejects.toThrow(
      UnsupportedMediaTypeError,
    );
    await expect(parseHookBody(Buffer.from('<a/>'), 'application/xml')).rejects.toThrow(
      /application\/x-www-form-urlencoded/,
    );
    await expect(parseHookBody(Buffer.from('{"a":'), 'application/json')).rejects.toThrow(
      MalformedRequestError,
    );
    await expect(parseHookBody(Buffer.from([0xff, 0xfe]), 'application/json')).rejects.toThrow(
      /not valid utf-8/,
    );
    await expect(
      parseHookBody(Buffer.from('--x\r\nbroken'), 'multipart/form-data; boundary=x'),
    ).rejects.toThrow(MalformedRequestError);
    await expect(parseHookBody(Buffer.from('a'), 'text/plain; charset=klingon')).rejects.toThrow(
      UnsupportedMediaTypeError,
    );
  });
});
