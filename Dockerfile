# syntax=docker/dockerfile:1
# Build on Debian 13 and run on distroless Debian 13: both carry Python 3.13, so the
# venv built here runs there.
FROM debian:13-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /venv/fn
COPY pyproject.toml README.md /src/
COPY function /src/function
RUN /venv/fn/bin/pip install --no-cache-dir /src

FROM gcr.io/distroless/python3-debian13 AS image
COPY --from=build /venv/fn /venv/fn
EXPOSE 9443
USER nonroot:nonroot
# Serves with mTLS from TLS_SERVER_CERTS_DIR, as Crossplane runs functions.
ENTRYPOINT ["/venv/fn/bin/function"]
