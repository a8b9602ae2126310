# Frontdesk container: slim Python base, non-root user, `frontdesk run` as the entry point.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY brain ./brain
COPY channels ./channels
COPY config ./config
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FRONTDESK_STORE__DATA_DIR=/data
RUN useradd --create-home --uid 10001 frontdesk \
    && mkdir /data && chown frontdesk:frontdesk /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER frontdesk
WORKDIR /home/frontdesk
VOLUME ["/data"]
# The running bot rewrites a heartbeat file every FRONTDESK_OBSERVABILITY__HEARTBEAT_SECONDS.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["frontdesk", "health"]
ENTRYPOINT ["frontdesk"]
CMD ["run"]
