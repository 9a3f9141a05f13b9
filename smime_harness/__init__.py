"""smime-harness's pytest entry point (``pytest11``), deliberately empty.

pytest imports this module in every run of an environment where smime-harness is
installed, whatever the project. So it defines no hook, registers no marker or
option and imports nothing: a project that does not use the harness runs exactly
as with ``-p no:smime_harness``, and one with a top-level package of its own named
``engine`` is not disturbed.

A project switches the step library on with one line in its top-level
``conftest.py`` (``smime-harness run`` does the same for itself)::

    pytest_plugins = ["smime_harness.steps"]
"""
