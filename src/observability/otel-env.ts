/**
 * The tracer provider the standard `OTEL_*` environment variables ask for, or none. Read once at
 * start-up. Without an exporter named or an OTLP endpoint set, no provider is made, and tracing
 * costs nothing (see tracing.ts).
 *
 * The variables the SDK reads itself (OTEL_TRACES_SAMPLER, OTEL_BSP_*, OTEL_EXPORTER_OTLP_HEADERS,
 * the endpoints, OTEL_RESOURCE_ATTRIBUTES) are left to it; this module decides only whether to
 * trace, where to send spans, and what the service is called.
 */

import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { ConfigError } from '../core/config.js';
import { VERSION } from '../core/version.js';

/** The service name spans carry when OTEL_SERVICE_NAME is not set. */
export const DEFAULT_SERVICE_NAME = 'junction';

type Exporter = 'otlp' | 'console';
const EXPORTERS = new Set(['otlp', 'console', 'none']);
/**
 * Protocols the OTLP/HTTP exporter can honour. It sends JSON; an OTLP/HTTP receiver takes JSON and
 * protobuf on the same path, so asking for `http/protobuf` (the spec's default) still works.
 */
const PROTOCOLS = new Set(['http/json', 'http/protobuf']);

/**
 * Which exporters the environment asks for: none when OTEL_SDK_DISABLED is true, when
 * OTEL_TRACES_EXPORTER is `none`, or when it is unset and no OTLP endpoint is either.
 *
 * @throws ConfigError naming the variable, for an exporter or protocol Junction cannot provide.
 * @example
 * tracesExporters({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }); // ['otlp']
 */
export function tracesExporters(env: NodeJS.ProcessEnv): Exporter[] {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return [];
  const named = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  for (const name of named) {
    if (!EXPORTERS.has(name))
      throw new ConfigError(
        `OTEL_TRACES_EXPORTER: '${name}' is not an exporter Junction has; use otlp, console or none`,
      );
  }
  const endpoint = Boolean(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const chosen: Exporter[] =
    named.length > 0 ? named.filter((n): n is Exporter => n !== 'none') : endpoint ? ['otlp'] : [];
  if (chosen.includes('otlp')) {
    const variable = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
      ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
      : 'OTEL_EXPORTER_OTLP_PROTOCOL';
    const protocol = env[variable]?.trim();
    if (protocol && !PROTOCOLS.has(protocol))
      throw new ConfigError(
        `${variable}: '${protocol}' is not supported; Junction exports over OTLP/HTTP: use http/json or http/protobuf`,
      );
  }
  return chosen;
}

/**
 * A tracer provider exporting as the environment says, or undefined when it asks for no tracing.
 * Nothing is registered globally: the hub is handed the provider, and shuts it down (flushing
 * what is buffered) when it stops.
 */
export function tracerProviderFromEnv(env: NodeJS.ProcessEnv = process.env): BasicTracerProvider | undefined {
  const exporters = tracesExporters(env);
  if (exporters.length === 0) return undefined;
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: DEFAULT_SERVICE_NAME, [ATTR_SERVICE_VERSION]: VERSION }),
    )
    // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME win over the defaults.
    .merge(detectResources({ detectors: [envDetector] }));
  return new BasicTracerProvider({
    resource,
    spanProcessors: exporters.map(
      (e) => new BatchSpanProcessor(e === 'otlp' ? new OTLPTraceExporter() : new ConsoleSpanExporter()),
    ),
  });
}
