# syntax=docker/dockerfile:1
# The server's image (README "The container image"). Build from the repository root:
#
#   docker build -t <registry>/connectors-access-apiserver:0.1.0 .
#   docker build --build-arg OPA_VERSION= -t …   # without opa: Rego checks end Failed, saying so
#
# Stages: build (npm ci && npm run build), deps (npm ci --omit=dev), opa (optional, from its Go module,
# as test/cluster/build-binaries.sh builds it), and the runtime: Node LTS, non-root (uid 1000, the
# image's `node` user), read-only root filesystem friendly (writes only to /tmp).
ARG NODE_IMAGE=node:22-bookworm-slim
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY apiserver ./apiserver
COPY storage ./storage
COPY openapi ./openapi
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${GO_IMAGE} AS opa
# Empty: no opa in the image (the Deployment's --opa-path then names a missing file).
ARG OPA_VERSION=v1.22.4
RUN mkdir -p /out && if [ -n "$OPA_VERSION" ]; then \
      CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags "-s -w" \
        "github.com/open-policy-agent/opa@${OPA_VERSION}"; \
    fi

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# package.json says "type": "module", which the compiled dist/ needs.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=opa /out/ /usr/local/bin/
USER 1000:1000
EXPOSE 8443
ENTRYPOINT ["node", "dist/apiserver/main.js"]
