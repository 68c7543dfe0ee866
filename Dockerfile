# IM2.0 Pay as a container: a static binary on a base image with no shell.
# The templ output and the CSS are committed, so the build needs neither
# npm nor templ; the migrations, pages and static files are embedded.
# deploy/compose.yaml runs it with PostgreSQL and Prometheus.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/im2pay ./cmd/im2pay

# distroless/static: CA certificates and time zone data (TIME_ZONE needs
# them), no shell, no package manager; "nonroot" is uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/im2pay /usr/local/bin/im2pay
USER 65532:65532
ENV LISTEN_ADDR=0.0.0.0:8080 \
    DATA_DIR=/data \
    LOG_FORMAT=json
VOLUME /data
EXPOSE 8080 9464
ENTRYPOINT ["/usr/local/bin/im2pay"]
CMD ["serve"]
