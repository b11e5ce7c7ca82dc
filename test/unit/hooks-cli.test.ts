/** `junction hook`: the request `create` sends and the table `list` prints. */
import { describe, expect, it } from 'vitest';
import { buildHookRequest, formatHooks } from '../../src/cli/commands/hook.js';
import { UsageError } from '../../src/cli/errors.js';

describe('junction hook', () => {
  it('sends only the fields given, with --signing parsed', () => {
    const options = { url: 'http://x', key: 'k', json: true, preset: 'signed', typeHeader: 'X-GitHub-Event' };
    expect(buildHookRequest({ ...options, signing: '{"secret":"s","header":"X-Sig"}' })).toEqual({
      method: 'POST',
      path: '/v1/hooks',
      body: { preset: 'signed', typeHeader: 'X-GitHub-Event', signing: { secret: 's', header: 'X-Sig' } },
    });
    expect(() => buildHookRequest({ signing: '[1]' })).toThrow(UsageError);
    expect(() => buildHookRequest({ signing: '{' })).toThrow(UsageError);
  });

  it('lists hooks as a table, and says when there are none', () => {
    expect(formatHooks([])).toBe('No hooks.');
    const table = formatHooks([
      { id: 'hook_1', preset: 'zapier', status: 'active', type: null, typeField: 'kind', name: 'Leads' },
    ]);
    expect(table.split('\n')).toEqual([
      'ID      PRESET  STATUS  TYPE        NAME',
      'hook_1  zapier  active  field kind  Leads',
    ]);
  });
});
