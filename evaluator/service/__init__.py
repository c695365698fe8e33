"""The HTTP API (`evaluate serve`) and the practice page."""
