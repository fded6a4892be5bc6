"""Typed keys for what the application holds (one module, so handlers need not import app)."""

from __future__ import annotations

from aiohttp import web

from server.interview_service import InterviewService
from server.model_hub import ModelHub
from server.resources import Resources
from server.settings import Settings
from server.web.auth import Auth
from server.web.oidc import OidcClient

SETTINGS_KEY = web.AppKey("settings", Settings)
RESOURCES_KEY = web.AppKey("resources", Resources)
AUTH_KEY = web.AppKey("auth", Auth)
INTERVIEWS_KEY = web.AppKey("interviews", InterviewService)
MODELS_KEY = web.AppKey("models", ModelHub)
OIDC_KEY = web.AppKey("oidc", OidcClient)  # only when single sign-on is configured
