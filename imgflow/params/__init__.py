"""params.yaml as typed, validated objects: one module per section, shared types in `types`."""
