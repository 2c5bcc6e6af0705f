"""The Django project: pages, the Piston-compatible API and its websocket."""
