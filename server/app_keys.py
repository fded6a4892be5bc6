"""Typed keys for what the application holds (one module, so handlers need not import app)."""

from __future__ import annotations

from aiohttp import web

from integrations.webhooks import WebhookWorker
from server.interview_service import InterviewService
from server.live import LiveRegistry
from server.resources import Resources
from server.settings import Settings
from server.web.auth import Auth

SETTINGS_KEY = web.AppKey("settings", Settings)
RESOURCES_KEY = web.AppKey("resources", Resources)
AUTH_KEY = web.AppKey("auth", Auth)
LIVE_KEY = web.AppKey("live", LiveRegistry)
INTERVIEWS_KEY = web.AppKey("interviews", InterviewService)
WEBHOOKS_KEY = web.AppKey("webhooks", WebhookWorker)
