"""The tests' fake backend (tests/support/fake_backend.py) as a server in a pod: Ollama and OpenAI
APIs on 0.0.0.0:$PORT (default 11434), named $BACKEND_NAME; an OpenAI key when $API_KEY is set."""

import os
import signal
import threading

from fake_backend import FakeBackend

backend = FakeBackend(
    name=os.environ.get("BACKEND_NAME", "fake"),
    api_key=os.environ.get("API_KEY") or None,
    host="0.0.0.0",
    port=int(os.environ.get("PORT", "11434")),
)
done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
with backend:
    print(f"fake backend {backend.name} on port {backend.port}", flush=True)
    done.wait()
