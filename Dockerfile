# eoshost with the Rust plugins, for docker-compose.yml. Untested here (no
# Docker engine on the build machines); the supported path is scripts/demo.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/build-plugins identity enrich router chaos && cargo build --release -p eoshost

FROM debian:bookworm-slim
COPY --from=build /src/target/release/eoshost /usr/local/bin/eoshost
COPY --from=build /src/target/plugins/ /plugins/
ENTRYPOINT ["eoshost"]
