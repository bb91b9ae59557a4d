# Stand-in for node:20-bookworm-slim: this machine's node and npm on Debian
# bookworm, with the official image's `node` user (uid 1000). The machine's CA
# bundle comes along: where the registry is reached through a TLS proxy, npm
# inside a build trusts it as npm on the machine does.
FROM debian:bookworm-slim
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
CMD ["node"]
