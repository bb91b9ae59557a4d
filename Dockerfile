# The demo node. Build: docker build -t nest-duplex-node .
# Stage 1 compiles with the dev toolchain; stage 2 carries only the compiled
# code and production dependencies, and runs as the unprivileged `node` user.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The workspaces' manifests first, so npm ci links them (and its layer survives source edits).
COPY libs/protocol/package.json ./libs/protocol/
COPY libs/client/package.json ./libs/client/
COPY libs/duplex/package.json ./libs/duplex/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY scripts/build-web.js ./scripts/
COPY libs ./libs
COPY apps ./apps
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
# node_modules/@nest-duplex/* link to the workspaces: their manifests and builds come along.
COPY --from=build /app/libs ./libs
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Ready means connected to the broker and caught up on shared state (/health answers 503 otherwise).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/apps/demo/src/main.js"]
