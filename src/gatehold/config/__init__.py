"""Configuration: typed models and the YAML loader."""

from gatehold.config.loader import ConfigError, ConfigProblem, LoadedConfig, load_config, parse_config
from gatehold.config.models import GateholdConfig

__all__ = ["ConfigError", "ConfigProblem", "GateholdConfig", "LoadedConfig", "load_config", "parse_config"]
