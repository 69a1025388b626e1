"""Built-in detector simulators."""
