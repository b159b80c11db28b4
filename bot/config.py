"""All settings, read from the environment (and an optional `.env`), validated at start-up."""

from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.db import DEFAULT_DATABASE_URL, async_database_url
from storage.programs import fixed_zone_advice, is_fixed_zone

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
# Telegram bot usernames: 5 to 32 letters, digits or underscores, ending in "bot".
BOT_USERNAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,28}[Bb][Oo][Tt]$")
# What Telegram accepts as a webhook's secret_token.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def bot_username(value: str) -> str:
    """A bot's username as typed (`@tandem_bot` or `tandem_bot`) without the @; raises
    ValueError saying what a bot username looks like."""
    name = value.strip().removeprefix("@")
    if not BOT_USERNAME_PATTERN.match(name):
        raise ValueError(
            f"{value!r} is not a bot username: give the @username BotFather gave your bot "
            "(5 to 32 letters, digits or underscores, ending in bot)"
        )
    return name


class Settings(BaseSettings):
    """Tandem's settings. Every field maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # Lets `tandem invite` make links offline, before the bot has reached Telegram.
    bot_username: str | None = None
    admin_telegram_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_locale: str = "en"
    default_timezone: str = "America/Toronto"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    port: int = Field(default=8080, ge=1, le=65535)
    dispatch_interval: int = Field(default=60, ge=5, le=3600, description="seconds per tick")
    log_level: str = "INFO"

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN_PATTERN.match(value.get_secret_value().strip()):
            raise ValueError(
                "TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then "
                "about 35 letters); copy it again from @BotFather"
            )
        return value

    @field_validator("bot_username")
    @classmethod
    def _bot_username(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return bot_username(value)
        except ValueError as error:
            raise ValueError(f"BOT_USERNAME: {error}") from None

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_PATTERN.match(value.get_secret_value()):
            raise ValueError(
                "WEBHOOK_SECRET must be 1 to 256 characters: letters, digits, _ and - only"
            )
        return value

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        """Without a secret anyone who finds the webhook's address can post updates in
        anyone's name (an admin's, a coordinator's): refuse to start."""
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError(
                "WEBHOOK_URL is set but WEBHOOK_SECRET is not: set WEBHOOK_SECRET to a long "
                "random string (letters, digits, _ and -), e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return self

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part for part in re.split(r"[,\s]+", value) if part]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("ADMIN_TELEGRAM_IDS must be numeric Telegram ids, comma-separated")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        if value not in ("en", "fr"):
            raise ValueError("DEFAULT_LOCALE must be en or fr")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if is_fixed_zone(value):
            raise ValueError(f"DEFAULT_TIMEZONE {fixed_zone_advice(value)}")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"DEFAULT_TIMEZONE {value!r} is not a time zone name such as America/Toronto"
            ) from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)

    def require_token(self) -> str:
        """The bot token, or a clear error when it is not configured."""
        if self.telegram_bot_token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token "
                "in the environment or in a .env file."
            )
        return self.telegram_bot_token.get_secret_value().strip()


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one sentence saying what to do."""


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning pydantic's report into one sentence per problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = ".".join(str(part) for part in item["loc"]).upper() or "settings"
            message = str(item["msg"]).removeprefix("Value error, ")
            whole = not item["loc"]  # a rule across settings names them itself
            problems.append(message if whole or field in message else f"{field}: {message}")
        raise ConfigError("; ".join(problems)) from None
