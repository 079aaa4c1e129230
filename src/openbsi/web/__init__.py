"""OpenBSI Clinic: the web app in which a research team runs, watches and reviews sessions.

It reads records and session logs and starts sessions as separate processes
(`python -m openbsi session ...`); it never runs a session loop itself (docs/clinic.md).
"""
