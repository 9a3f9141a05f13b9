"""Compliance reports: view-model records and their HTML, Cucumber JSON and JUnit renderings."""
