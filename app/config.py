"""Settings read from the environment (APP_ prefix, nested groups with `__`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = f"sqlite:///{ROOT / 'var' / 'registry.db'}"


class AuthSettings(BaseModel):
    """Bearer-token authentication."""

    enabled: bool = True
    max_failures_per_minute: int = 20
    """Failed token checks allowed per client address (and per presented token prefix) per
    minute; further failed checks get 429. A valid token is never refused."""
    token_cache_seconds: float = 5.0
    """How long a process trusts a token it has checked (0: look it up on every request); a
    revocation made in another process takes effect within this time."""


class ImportSettings(BaseModel):
    """Limits and tuning of survey-workbook imports."""

    max_file_mb: int = 200
    max_rows: int = 1_500_000
    max_uncompressed_mb: int = 2_000
    """Zip-bomb guard: total uncompressed size of the workbook's parts."""
    max_read_mb: int = Field(default=384, ge=16)
    """Memory one import job may use to read a sheet (or the pieces of a large one held at once):
    a sheet whose used range would need more is refused, naming its far cells."""
    inline_worker: bool = True
    """Run import jobs in a thread of the server process."""
    dry_run_keep_days: int = Field(default=7, ge=1)
    """A dry run not committed within this many days expires: its stored workbook is deleted
    and the batch is marked failed (upload the file again to import it)."""
    storage_dir: Path = ROOT / "var" / "imports"
    """Where uploaded workbooks wait for their job (one folder per batch)."""


class HttpSettings(BaseModel):
    """HTTP-level protections."""

    max_body_mb: int = 210
    """Largest request body of an upload route (multipart survey workbooks)."""
    max_json_mb: int = 4
    """Largest request body of every other route (JSON)."""
    cors_origins: list[str] = Field(default_factory=list)
    trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses or networks (e.g. ["127.0.0.1", "10.0.0.0/8"]) of reverse proxies whose
    X-Forwarded-For names the client; empty: the peer address is the client, headers ignored."""


class Settings(BaseSettings):
    """Service configuration; every field can be set as APP_<NAME> (groups: APP_<GROUP>__<NAME>)."""

    model_config = SettingsConfigDict(
        env_prefix="APP_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = DEFAULT_SQLITE
    database_echo: bool = False
    rules_dir: Path = ROOT / "seed" / "rules"
    auth: AuthSettings = AuthSettings()
    imports: ImportSettings = ImportSettings()
    http: HttpSettings = HttpSettings()
    daily_refresh: bool = True
    """Re-evaluate the flags in a thread of this process when the day changes. `serve --workers N`
    (N > 1) turns it and the inline import worker off in the HTTP processes and runs both once, in
    a dedicated `python -m app worker` process."""

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production":
            if not self.auth.enabled:
                raise ValueError("APP_AUTH__ENABLED=false is refused when APP_ENV=production")
            if self.database_url == DEFAULT_SQLITE:
                raise ValueError("set APP_DATABASE_URL explicitly when APP_ENV=production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache to override)."""
    return Settings()
