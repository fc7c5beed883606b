# Stand-in for node:20-bookworm-slim, built offline by scripts/ensure-base-images.sh from a debootstrap root file
# system and this machine's Node and npm. The machine's CA bundle goes along so that npm reaches the registry the way
# the host does (a property of this machine, so it lives here, not in the project's Dockerfile).
ARG BASE
FROM ${BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/host-ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-certificates.crt
CMD ["node"]
