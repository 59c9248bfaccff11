"""Gatehold's API gateway: routes, stages, authorizers and integrations, as Amazon API Gateway."""
