"""zoo's built-in task plugins. Each registers through the `zoo.tasks` entry-point group,
exactly as a third-party plugin would; the core never imports this package by name."""
