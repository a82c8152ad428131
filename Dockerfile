# syntax=docker/dockerfile:1
# kube-proxy-ts: multi-stage build. The builder compiles the native netlink module with the
# toolchain and the TypeScript; the runtime stage gets only what runs: Node 24, the app with its
# production dependencies, and the netfilter tools. Both stages are Debian bookworm, and the
# Node binary that built the native module is the one that runs it (the npm "node" package), so
# glibc and the Node ABI match by construction. Nothing is downloaded from outside Debian's
# archive and the npm registry. The steps live in scripts/image/ so they can be tested without
# a container engine (test/deploy/image-build.test.ts).
#   docker build -t localhost/kube-proxy-ts:0.1.0 .      (or: buildah bud -t ... .)
ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
# Debian's nodejs/npm only bootstrap `npm ci`: the lockfile brings Node 24 (devDependency
# "node"), and npm runs the install scripts with it first on PATH.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json .npmrc binding.gyp tsconfig.json ./
COPY native native
COPY src src
COPY scripts/image scripts/image
RUN bash scripts/image/build.sh /src /out

FROM debian:${DEBIAN_RELEASE}-slim
ARG VERSION=0.1.0
ARG REVISION=unknown
COPY scripts/image/install-runtime.sh /usr/local/sbin/install-runtime.sh
RUN /usr/local/sbin/install-runtime.sh && rm /usr/local/sbin/install-runtime.sh
COPY --from=build /out/ /
ENV NODE_ENV=production
LABEL org.opencontainers.image.title="kube-proxy-ts" \
      org.opencontainers.image.description="Kubernetes kube-proxy reimplemented in TypeScript: iptables, ipvs and nftables modes" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="debian:${DEBIAN_RELEASE}-slim"
# Root: the proxy needs NET_ADMIN (and NET_RAW for iptables-legacy) as uid 0; the manifests drop
# every other capability. tini is PID 1 so SIGTERM reaches Node and exited children are reaped.
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/kube-proxy-ts-entrypoint"]
