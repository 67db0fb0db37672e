"""Flask glue shared by every service: factory, problem+json, auth, health, metrics."""

from peerlink.web.app import ServiceContext, create_service_app, service
from peerlink.web.auth import Principal, current_principal, public, requires
from peerlink.web.problems import PROBLEM_JSON, ProblemSchema, problem

__all__ = [
    "PROBLEM_JSON",
    "Principal",
    "ProblemSchema",
    "ServiceContext",
    "create_service_app",
    "current_principal",
    "problem",
    "public",
    "requires",
    "service",
]
