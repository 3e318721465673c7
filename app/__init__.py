"""mockinterview: deep-learning mock interviews, offline by default.

Importing the package switches off the telemetry of the libraries it uses, before any of them loads:
ONNX Runtime otherwise writes a device id and usage events into ~/.cache/Microsoft on every start.
A value already set in the environment wins.
"""

import os

TELEMETRY_OFF = {
    "ORT_DISABLE_TELEMETRY": "1",  # ONNX Runtime (MiniLM, Moonshine)
    "HF_HUB_DISABLE_TELEMETRY": "1",  # huggingface_hub / transformers
    "DO_NOT_TRACK": "1",  # the cross-tool convention huggingface_hub and others honour
    "OTEL_SDK_DISABLED": "true",  # OpenTelemetry (FastAPI's optional instrumentation)
}
for _name, _value in TELEMETRY_OFF.items():
    os.environ.setdefault(_name, _value)
