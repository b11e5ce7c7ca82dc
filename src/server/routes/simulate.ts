import type { FastifyPluginAsync } from 'fastify';
import { parseSimulationInput } from '../../routing/simulation.js';
import { readJsonBody } from '../body.js';
import type { Hub } from '../hub.js';

/** What the hub would do with an event, before a rule goes live: nothing is stored or sent. */
export const simulateRoutes: FastifyPluginAsync<{ hub: Hub }> = async (app, { hub }) => {
  app.post('/v1/simulate', async (request) => hub.simulate(parseSimulationInput(readJsonBody(request))));
};
