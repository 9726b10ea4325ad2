"""veiligheidsbeeld: analytics pipeline for regional crime and safety statistics (Oost-Nederland)."""

import os as _os

__version__ = "0.1.0"

#: Nothing leaves the machine unless the user asks for it: Prefect's usage analytics and
#: telemetry are off for every Prefect server and client this project starts (the temporary server
#: of ``run``, ``serve``, the flows, the test servers). Set here, on import of the package, so
#: they are in the environment before Prefect reads its settings and before any server
#: subprocess inherits it. A value the user set explicitly is kept.
NO_TELEMETRY = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
    "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
    "DO_NOT_TRACK": "1",
}
for _name, _value in NO_TELEMETRY.items():
    _os.environ.setdefault(_name, _value)
