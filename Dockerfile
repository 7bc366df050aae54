# newapi: Granian serving the ASGI app; SQLite in /data unless SQL_DSN is set.
#   docker build -t newapi .          (or: docker compose up -d, with docker-compose.yml)
# Three stages: the web console (node), the wheel with the Cython accelerators and the console as
# package data (python + gcc), and a slim runtime with only the installed wheels.

FROM node:20-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web ./
# vite.config.ts writes the build to ../newapi/web_dist, where the wheel picks it up as package data.
RUN npx vite build --logLevel warn

FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY newapi ./newapi
COPY --from=web /src/newapi/web_dist ./newapi/web_dist
# Cython comes from [build-system]; the extensions are compiled into the wheel (setup.py). pip wheel
# also builds or fetches every dependency's wheel, so the runtime stage needs no compiler.
RUN pip wheel --no-cache-dir --wheel-dir /wheels . \
    && python -c "import glob,zipfile,sys; n=zipfile.ZipFile(glob.glob('/wheels/newapi-*.whl')[0]).namelist(); sys.exit(0 if any(f.endswith('.so') for f in n) and any(f.startswith('newapi/web_dist/') for f in n) else 'wheel lacks the extensions or the console')"

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 newapi && mkdir /data && chown newapi /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER newapi
WORKDIR /data
ENV PORT=3000 NEWAPI_DATA_DIR=/data PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 3000
# Healthy when /api/status answers {"success": true}; python is the one HTTP client the slim image has.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import json,os,urllib.request as u; r=u.urlopen('http://127.0.0.1:%s/api/status' % os.environ.get('PORT', '3000'), timeout=3); raise SystemExit(0 if json.load(r).get('success') else 1)"]
ENTRYPOINT ["newapi"]
CMD ["serve"]
