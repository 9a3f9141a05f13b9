"""The scenario harness: the Gherkin step library, its pytest plugin and the runner."""
