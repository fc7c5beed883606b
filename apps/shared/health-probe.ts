// The containers' health check (Dockerfile HEALTHCHECK, docker-compose.yml): exits 0 when the app in this container
// answers 200 on GET /health, 1 otherwise. Plain Node (no curl in slim images).
const port = process.env.PORT ?? '3000';

fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) }).then(
  (response) => {
    if (!response.ok) console.error(`GET /health answered ${response.status}`);
    process.exit(response.ok ? 0 : 1);
  },
  (err: unknown) => {
    console.error(`GET /health on port ${port} failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
