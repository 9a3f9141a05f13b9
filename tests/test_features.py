"""Run every built-in feature file through pytest-bdd with the shipped step library."""

from pytest_bdd import scenarios

scenarios("../features")
