"""Orchestration: poll, map, remove. Every function takes its dependencies as arguments."""
