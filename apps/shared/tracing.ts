// Tracing of the sample apps. The transport's tracing observer is always registered: it costs one check per entry
// while no tracer provider is registered. OTEL_TRACES_EXPORTER=console (or otlp, or OTEL_EXPORTER_OTLP_ENDPOINT set)
// registers one, with the W3C propagator, so that each mail is one trace from the gateway's emit to every handler.
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { RedisStreamsTracing } from 'nestjs-redis-streams/tracing';
import type { AppConfig } from './app-config.js';

export const tracing = new RedisStreamsTracing();

/** The OTLP exporter is not a dependency of the apps: installed by whoever wants it. */
const OTLP_EXPORTER = '@opentelemetry/exporter-trace-otlp-http';

/** Registers a tracer provider exporting to the console or OTLP, if the configuration asks for one. */
export async function startTracing(config: AppConfig): Promise<void> {
  if (!config.tracesExporter) return;
  const [api, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { resourceFromAttributes }, sdk] =
    await Promise.all([
      import('@opentelemetry/api'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/core'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
    ]);
  const processor =
    config.tracesExporter === 'console'
      ? new sdk.SimpleSpanProcessor(new sdk.ConsoleSpanExporter())
      : new sdk.BatchSpanProcessor(await otlpExporter(config.otlpEndpoint));
  const provider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.app }),
    spanProcessors: [processor],
  });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  // Spans still batched are sent once the app has closed (after SIGTERM) and nothing else is left to run.
  process.once('beforeExit', () => void provider.shutdown());
}

async function otlpExporter(endpoint: string | undefined): Promise<SpanExporter> {
  let module: { OTLPTraceExporter: new (options: { url?: string }) => SpanExporter };
  try {
    module = (await import(OTLP_EXPORTER)) as typeof module;
  } catch {
    throw new Error(`OTEL_TRACES_EXPORTER=otlp needs ${OTLP_EXPORTER}: npm install ${OTLP_EXPORTER}, or use console.`);
  }
  // Like the OpenTelemetry SDKs, the endpoint is the collector's base URL (http://collector:4318) without /v1/traces.
  return new module.OTLPTraceExporter(endpoint ? { url: `${endpoint.replace(/\/$/, '')}/v1/traces` } : {});
}
