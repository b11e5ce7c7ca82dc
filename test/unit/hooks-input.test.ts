/** The admin API's hook definitions: defaults, and every bad field named by its pointer. */
import { describe, expect, it } from 'vitest';
import { parseHookInput } from '../../src/adapters/hooks/input.js';
import { ValidationError } from '../../src/core/errors.js';

function pointers(body: unknown): string[] {
  try {
    parseHookInput(body);
  } catch (error) {
    if (error instanceof ValidationError) return (error.errors ?? []).map((e) => e.pointer);
    throw error;
  }
  return [];
}

describe('parseHookInput', () => {
  it('fills in the defaults, the preset body limit among them', () => {
    expect(parseHookInput({ type: 'com.acme.x' })).toEqual({
      name: null,
      preset: 'generic',
      status: 'active',
      type: 'com.acme.x',
      typeField: null,
      typeHeader: null,
      typePrefix: '',
      source: null,
      subjectField: null,
      partitionKeyField: null,
      idField: null,
      idHeader: null,
      mapping: null,
      signing: null,
      macSecret: null,
      maxBodyBytes: 1_048_576,
    });
    expect(parseHookInput({ preset: 'make', type: 't' }).maxBodyBytes).toBe(5 * 1024 * 1024);
    expect(parseHookInput({ preset: 'airtable' }).type).toBe('com.airtable.webhook.notification');
  });

  it('fills in each signing scheme and lowercases header names', () => {
    expect(
      parseHookInput({
        preset: 'signed',
        type: 't',
        signing: { secret: 's', header: 'X-Hub-Signature-256', prefix: 'sha256=' },
      }).signing,
    ).toEqual({
      scheme: 'hmac',
      secret: 's',
      header: 'x-hub-signature-256',
      algorithm: 'sha256',
      encoding: 'hex',
      prefix: 'sha256=',
      timestampHeader: null,
      payload: '{body}',
      toleranceSeconds: 300,
    });
    expect(
      parseHookInput({ preset: 'signed', type: 't', signing: { scheme: 'stripe', secret: 's' } }).signing,
    ).toMatchObject({
      header: 'stripe-signature',
      payload: '{timestamp}.{body}',
    });
  });

  it('names every bad field at once', () => {
    expect(
      pointers({
        preset: 'zoho',
        typeField: 'a..b',
        idField: 'id',
        idHeader: 'X-Id',
        mapping: '{ "a": ',
        maxBodyBytes: 10,
        extra: 1,
        source: 'not a uri',
      }).sort(),
    ).toEqual(
      ['/extra', '/idHeader', '/mapping', '/maxBodyBytes', '/preset', '/source', '/typeField'].sort(),
    );
    expect(pointers({})).toEqual(['/type']);
    expect(pointers([])).toEqual(['']);
  });

  it('checks signing against its preset and scheme', () => {
    expect(pointers({ preset: 'signed', type: 't' })).toEqual(['/signing']);
    expect(pointers({ preset: 'signed', type: 't', signing: { secret: 's' } })).toEqual(['/signing/header']);
    expect(
      pointers({
        preset: 'signed',
        type: 't',
        signing: { header: 'x', algorithm: 'md5', encoding: 'hex2' },
      }).sort(),
    ).toEqual(['/signing/algorithm', '/signing/encoding', '/signing/secret']);
    expect(
      pointers({
        preset: 'signed',
        type: 't',
        signing: { secret: 's', header: 'x', payload: '{timestamp}.{body}' },
      }),
    ).toEqual(['/signing/payload']);
    expect(
      pointers({
        preset: 'signed',
        type: 't',
        signing: { scheme: 'stripe', secret: 's', encoding: 'base64' },
      }),
    ).toEqual(['/signing/encoding']);
    expect(
      pointers({
        preset: 'signed',
        type: 't',
        signing: { scheme: 'standard-webhooks', secret: 'not base64!' },
      }),
    ).toEqual(['/signing/secret']);
    expect(pointers({ preset: 'airtable', signing: { secret: 's', header: 'x' } })).toEqual(['/signing']);
    expect(pointers({ preset: 'zapier', type: 't', macSecret: 'c2VjcmV0' })).toEqual(['/macSecret']);
    expect(pointers({ preset: 'airtable', macSecret: 'not base64!' })).toEqual(['/macSecret']);
  });

  it('refuses a mapping that Junction cannot hold to a time budget', () => {
    expect(pointers({ type: 't', mapping: '$match(a, /x+/)' })).toEqual(['/mapping']);
  });
});
