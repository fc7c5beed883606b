# One image for the four sample apps. Pick the app with the build arg (docker build --build-arg APP=email .) or at run
# time with APP=… or a command (docker run IMAGE node dist/apps/bi/src/main.js). See docker-compose.yml.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs/redis-streams/package.json libs/redis-streams/
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.base.json tsconfig.apps.json ./
COPY scripts/write-cjs-marker.mjs scripts/
COPY libs/redis-streams libs/redis-streams
COPY apps apps
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/libs/redis-streams/package.json libs/redis-streams/
COPY --from=build /app/libs/redis-streams/dist libs/redis-streams/dist
COPY --from=build /app/dist dist
ARG APP=gateway
ENV APP=${APP} \
    REDIS_URL=redis://redis:6379
USER node
HEALTHCHECK --interval=5s --timeout=15s --start-period=10s --retries=5 CMD ["node", "dist/apps/shared/health-probe.js"]
# exec: the app gets SIGTERM directly and shuts down gracefully (unfinished entries stay pending for recovery).
CMD ["sh", "-c", "exec node dist/apps/${APP}/src/main.js"]
