/**
 * Inbound hooks: one row each, the hook as JSON. Every request to a hook reads its row, so a
 * change made by one process is seen by the next request any process serves.
 */
import type postgres from 'postgres';
import type { Hook } from '../ports.js';

export async function saveHook(sql: postgres.Sql, hook: Hook): Promise<void> {
  await sql`
    INSERT INTO hooks (id, body) VALUES (${hook.id}, ${JSON.stringify(hook)}::text::jsonb)
    ON CONFLICT (id) DO UPDATE SET body = excluded.body`;
}

export async function getHook(sql: postgres.Sql, id: string): Promise<Hook | undefined> {
  const [row] = await sql<{ body: Hook }[]>`SELECT body FROM hooks WHERE id = ${id}`;
  return row?.body;
}

export async function listHooks(sql: postgres.Sql): Promise<Hook[]> {
  const rows = await sql<{ body: Hook }[]>`SELECT body FROM hooks ORDER BY id`;
  return rows.map((r) => r.body);
}

export async function deleteHook(sql: postgres.Sql, id: string): Promise<boolean> {
  const rows = await sql`DELETE FROM hooks WHERE id = ${id} RETURNING id`;
  return rows.length > 0;
}
