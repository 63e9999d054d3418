"""Plugins beyond the two built in: ``ADMIN2_PLUGINS`` lists their app configs (dotted paths).

Each is an ordinary Django app whose config subclasses ``admin2.plugins.PluginConfig``;
the core reads what it declares (docs/extending.md).
"""

from settings.env import env_list

ADMIN2_PLUGINS = env_list("ADMIN2_PLUGINS", [])
INSTALLED_APPS += ADMIN2_PLUGINS  # noqa: F821
