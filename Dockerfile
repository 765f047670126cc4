# eoshost with the Rust plugins, for docker-compose.yml. Untested here (no
# Docker engine on the build machines); the supported path is scripts/demo.
FROM rust:1.95-bookworm AS build
# librdkafka is built with TLS (OpenSSL), OIDC token fetching (libcurl) and
# zstd (built from source by the zstd-sys crate); pkg-config finds the first two.
RUN apt-get update && apt-get install -y --no-install-recommends cmake pkg-config libssl-dev libcurl4-openssl-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/build-plugins identity enrich router chaos && cargo build --release -p eoshost

FROM debian:bookworm-slim
# The libraries the binary links (libssl3, libcurl4) and the system CA
# bundle librdkafka trusts when ssl.ca.location is unset (managed clusters).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 libcurl4 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/eoshost /usr/local/bin/eoshost
COPY --from=build /src/target/plugins/ /plugins/
ENTRYPOINT ["eoshost"]
