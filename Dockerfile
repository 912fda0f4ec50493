# Slim image: installs the package, migrates on start, serves with uvicorn (python -m app serve).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 APP_ENV=production
WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
COPY seed ./seed
RUN pip install --no-cache-dir . && useradd --system --home /srv registry && mkdir -p var && chown registry var
USER registry
EXPOSE 8000
# migrates, then serves with one HTTP process per core and one import/refresh worker process;
# docker stop (SIGTERM) lets in-flight requests finish; a running import resumes on the next start
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "8000"]
