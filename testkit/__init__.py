"""The kit's test kit for plugin authors: fixtures (a pytest plugin, registered through the
``pytest11`` entry point) and contract suites every plugin can run against itself."""
