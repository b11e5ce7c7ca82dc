import type { FastifyPluginAsync } from 'fastify';
import { bodyObject, parseMode, parseTypeSettings } from '../../contracts/type-settings.js';
import { ValidationError } from '../../core/errors.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';

/** Who made a change: the bootstrap key is the only key there is so far. */
const ADMIN_ACTOR = 'admin';

type TypeParams = { Params: { type: string } };

function typePath(type: string): string {
  return `/v1/schemas/${encodeURIComponent(type)}`;
}

function versionNumber(text: string, pointer = '/version'): number {
  if (!/^[1-9]\d{0,8}$/.test(text)) {
    throw ValidationError.field(
      pointer,
      `${pointer.slice(1)} must be a whole number from 1, not ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

/** Reads the `from` and `to` query parameters of a diff, naming each one that is missing or wrong. */
function diffVersions(query: Record<string, unknown>): { from: number; to: number } {
  const errors: { pointer: string; message: string }[] = [];
  const read = (name: 'from' | 'to'): number => {
    const text = query[name];
    if (typeof text === 'string' && /^[1-9]\d{0,8}$/.test(text)) return Number(text);
    errors.push({
      pointer: `/${name}`,
      message:
        text === undefined
          ? `query parameter ${name} is required: a version number from 1`
          : `query parameter ${name} must be one whole number from 1, not ${JSON.stringify(text)}`,
    });
    return 0;
  };
  const versions = { from: read('from'), to: read('to') };
  if (errors.length > 0) {
    throw new ValidationError(
      `give the two versions to compare as ?from=N&to=M; ${errors.map((e) => e.message).join('; ')}`,
      { errors },
    );
  }
  return versions;
}

/** The schema registry: event types, their versioned JSON Schemas, and compatibility checks. */
export const schemaRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  const registry = hub.registry;

  app.post<TypeParams>('/v1/schemas/:type', async (request, reply) => {
    const body = bodyObject(readJsonBody(request));
    const settings = parseTypeSettings(body);
    const { version } = await registry.register(request.params.type, body.schema, settings, ADMIN_ACTOR);
    return reply
      .code(201)
      .header('location', `${typePath(version.type)}/versions/${version.version}`)
      .send({
        type: version.type,
        version: version.version,
        schema: version.schema,
        createdAt: version.createdAt,
      });
  });

  app.patch<TypeParams>('/v1/schemas/:type', async (request) => {
    const body = bodyObject(readJsonBody(request));
    if ('schema' in body) {
      throw ValidationError.field(
        '/schema',
        'a schema is registered with POST /v1/schemas/{type}, not PATCH',
      );
    }
    return registry.updateSettings(request.params.type, parseTypeSettings(body), ADMIN_ACTOR);
  });

  app.get('/v1/schemas', async () => registry.listTypes());

  app.get<TypeParams>('/v1/schemas/:type', async (request) => registry.describe(request.params.type));

  app.get<TypeParams>('/v1/schemas/:type/versions', async (request) =>
    registry.versions(request.params.type),
  );

  app.get<{ Params: { type: string; n: string } }>('/v1/schemas/:type/versions/:n', async (request) =>
    registry.version(request.params.type, versionNumber(request.params.n)),
  );

  app.post<TypeParams>('/v1/schemas/:type/check', async (request) => {
    const body = bodyObject(readJsonBody(request));
    const mode =
      body.compatibility === undefined ? undefined : parseMode(body.compatibility, '/compatibility');
    return registry.check(request.params.type, body.schema, mode);
  });

  app.get<TypeParams>('/v1/schemas/:type/diff', async (request) => {
    const { from, to } = diffVersions(request.query as Record<string, unknown>);
    return registry.diff(request.params.type, from, to);
  });

  app.get<TypeParams>('/v1/schemas/:type/changes', async (request) => registry.changes(request.params.type));

  app.patch<{ Params: { type: string; n: string } }>('/v1/schemas/:type/versions/:n', async (request) =>
    registry.setLifecycle(
      request.params.type,
      versionNumber(request.params.n),
      bodyObject(readJsonBody(request)),
      ADMIN_ACTOR,
    ),
  );

  app.post<TypeParams>('/v1/schemas/:type/converters', async (request, reply) => {
    const body = bodyObject(readJsonBody(request));
    const converter = await registry.saveConverter(request.params.type, body, ADMIN_ACTOR);
    return reply
      .code(201)
      .header('location', `${typePath(converter.type)}/converters/${converter.from}/${converter.to}`)
      .send(converter);
  });

  app.get<TypeParams>('/v1/schemas/:type/converters', async (request) =>
    registry.converters(request.params.type),
  );

  app.delete<{ Params: { type: string; from: string; to: string } }>(
    '/v1/schemas/:type/converters/:from/:to',
    async (request, reply) => {
      const { type, from, to } = request.params;
      await registry.deleteConverter(
        type,
        versionNumber(from, '/from'),
        versionNumber(to, '/to'),
        ADMIN_ACTOR,
      );
      return reply.code(204).send();
    },
  );
};
