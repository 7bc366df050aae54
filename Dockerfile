# newapi: Granian serving the ASGI app; SQLite in /data unless SQL_DSN is set.
# The web console is built first and rides in the wheel as package data (newapi/web_dist).
FROM node:20-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
RUN npx vite build --logLevel warn

FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY newapi ./newapi
COPY --from=web /src/newapi/web_dist ./newapi/web_dist
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 newapi && mkdir /data && chown newapi /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER newapi
WORKDIR /data
ENV PORT=3000 NEWAPI_DATA_DIR=/data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,os;urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\",\"3000\")}/api/status',timeout=2)"
ENTRYPOINT ["newapi"]
CMD ["serve"]
