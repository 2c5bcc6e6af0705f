"""The Piston-compatible API: HTTP views and the websocket consumer."""
