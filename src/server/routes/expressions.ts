import type { FastifyPluginAsync } from 'fastify';
import { evaluate, parseEvaluationRequest } from '../../routing/expressions.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';

/** Evaluates a filter expression against an event: `{result, error}`, a parse error included. */
export const expressionRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app) => {
  app.post('/v1/expressions/evaluate', async (request) =>
    evaluate(parseEvaluationRequest(readJsonBody(request))),
  );
};
