# Slim image: installs the package, migrates on start, serves with uvicorn.
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
CMD ["sh", "-c", "python -m app migrate && exec uvicorn app.main:app_factory --factory --host 0.0.0.0 --port 8000 --no-proxy-headers"]
